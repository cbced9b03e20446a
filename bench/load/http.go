package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
)

// Request is an HTTP call to make.
type Request struct {
	Method string
	URL    string
	// Token is sent as "Authorization: Bearer <Token>" when set.
	Token string
	// Body, when set, is sent as JSON.
	Body []byte
}

// maxKept bounds how much of an unexpected answer a StatusError keeps.
const maxKept = 300

// StatusError is an answer with a status the caller did not expect.
type StatusError struct {
	Method, URL string
	Code        int
	// Body is the start of the answer, to say why.
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.URL, e.Code, e.Body)
}

// Do makes r with c, reads the whole answer (so the connection can be
// reused) and returns its body. A status not among want is a *StatusError;
// with no want, any 2xx is expected.
func Do(ctx context.Context, c *http.Client, r Request, want ...int) ([]byte, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	ok := resp.StatusCode/100 == 2
	if len(want) > 0 {
		ok = slices.Contains(want, resp.StatusCode)
	}
	if !ok {
		kept := raw
		if len(kept) > maxKept {
			kept = kept[:maxKept]
		}
		return raw, &StatusError{Method: r.Method, URL: r.URL, Code: resp.StatusCode, Body: string(kept)}
	}
	return raw, nil
}

// Kind classifies an error for the report: "http <code>" for an
// unexpected status, "timeout", "canceled", "transport" for a failure to
// exchange with the server, else "other" (a call's own check failing).
func Kind(err error) string {
	var se *StatusError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("http %d", se.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ue), errors.As(err, &ne):
		return "transport"
	}
	return "other"
}
