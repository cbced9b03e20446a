package fasttest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/countersign/countersign/api"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/awx/awxsim"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/internal/storefake"
	"github.com/countersign/countersign/store"
)

// The personas every test meets: a superuser, acme's admin, a requester
// and an approver of acme (bob is in team sre), and oscar, a member of
// another organization who sees nothing of acme's.
const (
	superuser = "admin"
	orgAdmin  = "erin"
	requester = "alice"
	approver  = "bob"
	outsider  = "oscar"
)

var personas = []string{superuser, orgAdmin, requester, approver, outsider}

// taskQueue is the queue the server under test starts workflows on.
const taskQueue = "fasttest"

// env is one api.Server on fakes, with acme's people, team and catalog
// item in its store.
type env struct {
	t        *testing.T
	store    *storefake.Store
	temporal *mocks.Client
	awx      *awxsim.Server
	handler  http.Handler
	logs     *syncBuffer
	now      time.Time

	tokens map[string]string
	// sessions are the personas' portal session ids, what their cookie
	// holds.
	sessions map[string]string
	users    map[string]store.User
	acme     store.Organization
	initech  store.Organization
	sre      store.Team
	// item ("Restart service") needs one approval by sre.
	item store.CatalogItem
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		t:        t,
		store:    storefake.New(),
		temporal: mocks.NewClient(t),
		awx:      awxsim.New(awxsim.Config{}),
		logs:     &syncBuffer{},
		now:      time.Now(),
		tokens:   map[string]string{},
		sessions: map[string]string{},
		users:    map[string]store.User{},
	}
	e.seed()
	awxClient, err := awx.New("http://awx.invalid", "awx-token", awx.WithHTTPClient(&http.Client{Transport: inProcess{e.awx}}))
	require.NoError(t, err)
	srv := api.New(api.Deps{
		Store: e.store, Temporal: e.temporal, AWX: awxClient, PayloadKeys: payloadRing(t),
		Logger:    slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TaskQueue: taskQueue, TemporalTimeout: 2 * time.Second,
	})
	t.Cleanup(srv.Close)
	e.handler = srv.Handler()
	return e
}

func (e *env) seed() {
	ctx := context.Background()
	var err error
	e.acme, err = e.store.CreateOrganization(ctx, "acme", "")
	require.NoError(e.t, err)
	e.initech, err = e.store.CreateOrganization(ctx, "initech", "")
	require.NoError(e.t, err)
	for _, name := range personas {
		u, err := e.store.CreateUser(ctx, store.NewUser{Username: name, Email: name + "@example.com", IsSuperuser: name == superuser})
		require.NoError(e.t, err)
		e.users[name] = u
		plain, _, err := e.store.CreateToken(ctx, u.ID, "test")
		require.NoError(e.t, err)
		e.tokens[name] = plain
		id, _, err := e.store.CreateSession(ctx, u.ID, "test", time.Now(), time.Hour)
		require.NoError(e.t, err)
		e.sessions[name] = id
	}
	for _, name := range []string{orgAdmin, requester, approver} {
		require.NoError(e.t, e.store.AddOrgMember(ctx, e.acme.ID, e.users[name].ID))
	}
	require.NoError(e.t, e.store.AddOrgAdmin(ctx, e.acme.ID, e.users[orgAdmin].ID))
	require.NoError(e.t, e.store.AddOrgMember(ctx, e.initech.ID, e.users[outsider].ID))
	e.sre, err = e.store.CreateTeam(ctx, e.acme.ID, "sre", "")
	require.NoError(e.t, err)
	require.NoError(e.t, e.store.AddTeamMember(ctx, e.sre.ID, e.users[approver].ID))
	template := int64(awxsim.DemoRestartServiceID)
	e.item, err = e.store.CreateCatalogItem(ctx, store.NewCatalogItem{OrganizationID: e.acme.ID, Name: "Restart service",
		JobTemplateID: &template, RequiresApproval: true, ApproverTeamID: &e.sre.ID})
	require.NoError(e.t, err)
}

// payloadRing is a key ring for the server's decision proofs; nothing it
// encrypts leaves the test.
func payloadRing(t *testing.T) *codec.Ring {
	key := sha256.Sum256([]byte("countersign fast tests"))
	r, err := codec.ParseKeys("fasttest:" + base64.StdEncoding.EncodeToString(key[:]))
	require.NoError(t, err)
	return r
}

// inProcess serves the AWX client's calls with the simulator's handler
// directly, without a socket.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// answer is an API response.
type answer struct {
	status int
	header http.Header
	raw    []byte
}

// json decodes the body as an object.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(a.raw, &out), "answer %d: %s", a.status, a.raw)
	return out
}

// call sends a request as user: a persona's token, a literal token for
// any other string, no credentials for "". A body is sent verbatim when
// it is a string or []byte, as JSON otherwise, and not at all when nil.
func (e *env) call(user, method, path string, body any) answer {
	e.t.Helper()
	req := e.request(method, path, body)
	if user != "" {
		token, ok := e.tokens[user]
		if !ok {
			token = user
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *env) request(method, path string, body any) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (e *env) send(req *http.Request) answer {
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
}

// must calls and requires the status.
func (e *env) must(want int, user, method, path string, body any) map[string]any {
	e.t.Helper()
	a := e.call(user, method, path, body)
	require.Equal(e.t, want, a.status, "%s %s as %s: %s", method, path, user, a.raw)
	if len(a.raw) == 0 {
		return nil
	}
	return a.json(e.t)
}

// workers makes the task queue's workers alive (a poller seen just now)
// or gone (no poller), for every later probe.
func (e *env) workers(alive bool) {
	resp := &workflowservice.DescribeTaskQueueResponse{}
	if alive {
		resp.Pollers = []*taskqueuepb.PollerInfo{{Identity: "worker@fasttest", LastAccessTime: timestamppb.New(time.Now())}}
	}
	e.temporal.On("DescribeTaskQueue", mock.Anything, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW).Return(resp, nil).Maybe()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
