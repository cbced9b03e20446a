package load_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/bench/load"
)

// statusByCount answers the nth request (from 1) with 500 when n is a
// multiple of 10, else 409 when a multiple of 4, else 200 — over 100
// requests: 10 × 500, 20 × 409, 70 × 200, whatever the interleaving.
func statusByCount(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		switch k := n.Add(1); {
		case k%10 == 0:
			http.Error(w, `{"detail":"boom"}`, http.StatusInternalServerError)
		case k%4 == 0:
			http.Error(w, `{"detail":"conflict"}`, http.StatusConflict)
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRun_CountsErrorsByStatus(t *testing.T) {
	srv, served := statusByCount(t)
	call := func(ctx context.Context, c *http.Client) error {
		_, err := load.Do(ctx, c, load.Request{Method: "POST", URL: srv.URL + "/x/", Token: "tok", Body: []byte(`{}`)}, http.StatusOK)
		return err
	}
	res, err := load.Run(context.Background(), load.Options{Concurrency: 4, Calls: 100}, load.Scenario{Name: "mixed", Call: call})
	require.NoError(t, err)

	assert.Equal(t, int64(100), served.Load(), "exactly Calls calls are made")
	assert.Equal(t, "mixed", res.Scenario)
	assert.Equal(t, 100, res.Calls)
	assert.Equal(t, 30, res.Errors)
	assert.Equal(t, map[string]int{"http 500": 10, "http 409": 20}, res.ErrorKinds)
	assert.Contains(t, res.ErrorSamples["http 409"], "status 409")
	assert.Contains(t, res.ErrorSamples["http 409"], "conflict", "the answer says why")
	assert.Len(t, res.Latencies, 70, "only successful calls are timed")
	assert.IsNonDecreasing(t, res.Latencies)
	assert.False(t, res.Exhausted)

	var out bytes.Buffer
	require.NoError(t, load.WriteTable(&out, []load.Result{res}))
	assert.Contains(t, out.String(), "scenario")
	assert.Contains(t, out.String(), "mixed")
	assert.Contains(t, out.String(), "mixed: 20 × http 409, first: POST ")
	assert.Contains(t, out.String(), "mixed: 10 × http 500, first: POST ")
}

func TestRun_TransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	call := func(ctx context.Context, c *http.Client) error {
		_, err := load.Do(ctx, c, load.Request{Method: "GET", URL: url}, http.StatusOK)
		return err
	}
	res, err := load.Run(context.Background(), load.Options{Concurrency: 2, Calls: 5}, load.Scenario{Name: "down", Call: call})
	require.NoError(t, err)
	assert.Equal(t, 5, res.Calls)
	assert.Equal(t, map[string]int{"transport": 5}, res.ErrorKinds)
	assert.Empty(t, res.Latencies)
}

func TestRun_StopsWhenExhausted(t *testing.T) {
	work := make(chan int, 7)
	for i := range 7 {
		work <- i
	}
	close(work)
	var done atomic.Int64
	call := func(ctx context.Context, c *http.Client) error {
		if _, ok := <-work; !ok {
			return load.ErrExhausted
		}
		done.Add(1)
		return nil
	}
	// The duration is only a bound: the run ends when the work does.
	res, err := load.Run(context.Background(), load.Options{Concurrency: 3, Duration: time.Hour}, load.Scenario{Name: "pool", Call: call})
	require.NoError(t, err)
	assert.Equal(t, 7, res.Calls, "the exhausted calls are not counted")
	assert.Equal(t, int64(7), done.Load())
	assert.Len(t, res.Latencies, 7)
	assert.True(t, res.Exhausted)
}

func TestRun_Duration(t *testing.T) {
	srv, served := statusByCount(t)
	call := func(ctx context.Context, c *http.Client) error {
		_, err := load.Do(ctx, c, load.Request{Method: "GET", URL: srv.URL, Token: "tok"})
		return err
	}
	res, err := load.Run(context.Background(), load.Options{Concurrency: 2, Duration: 200 * time.Millisecond}, load.Scenario{Name: "timed", Call: call})
	require.NoError(t, err)
	assert.Positive(t, res.Calls)
	assert.Equal(t, served.Load(), int64(res.Calls), "every call started is counted")
	assert.Equal(t, res.Calls, len(res.Latencies)+res.Errors)
}

func TestRun_NeedsALimit(t *testing.T) {
	_, err := load.Run(context.Background(), load.Options{}, load.Scenario{Name: "x", Call: func(context.Context, *http.Client) error { return nil }})
	require.Error(t, err)
}

func TestRun_CanceledContextMakesNoCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int64
	res, err := load.Run(ctx, load.Options{Concurrency: 2, Calls: 10}, load.Scenario{Name: "x", Call: func(context.Context, *http.Client) error {
		calls.Add(1)
		return nil
	}})
	require.NoError(t, err)
	assert.Zero(t, calls.Load())
	assert.Zero(t, res.Calls)
}

func TestKind(t *testing.T) {
	assert.Equal(t, "http 503", load.Kind(&load.StatusError{Code: 503}))
	assert.Equal(t, "timeout", load.Kind(context.DeadlineExceeded))
	assert.Equal(t, "canceled", load.Kind(context.Canceled))
	assert.Equal(t, "other", load.Kind(errors.New("bad answer")))
}
