// Package awxsim is an in-memory AWX that speaks the subset of the AWX REST
// API (/api/v2/) Countersign uses: identity, job templates and workflow job
// templates with their surveys and nodes, launches, jobs and workflow jobs,
// cancellation, labels, and job lists with AWX's filters and pagination.
// Paths, field names, status codes and error bodies follow AWX 24.6. At /
// it serves a read-only job page for AWX's UI links to jobs.
//
// Jobs are not executed. A job's status is a function of the clock: it is
// pending, then running, then reaches its template's Outcome once the
// configured duration has passed. Nothing runs in the background, so a test
// that injects Config.Clock controls every transition.
//
// For tests of exactly-once launching, faults (delays, error statuses,
// connection resets and lost responses) can be injected with InjectFault or
// over HTTP under /_sim/.
package awxsim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config tunes a Server. The zero value is usable: it accepts any bearer
// token, serves DemoInventory and runs jobs for 10 seconds.
type Config struct {
	// Tokens are the accepted bearer tokens. Empty accepts any non-empty
	// bearer token.
	Tokens []string
	// Username is the AWX user the tokens belong to; it is the created_by of
	// every launched job. Default "admin".
	Username string
	// JobDuration is the time from launch to a terminal status. Default 10s.
	// JobTemplate.Duration and WorkflowJobTemplate.Duration override it.
	JobDuration time.Duration
	// PendingFor is the time a job stays pending before it runs. Default
	// 1s or a fifth of the job's duration, whichever is smaller; never more
	// than the job's duration.
	PendingFor time.Duration
	// CancelDelay is how long after an accepted cancel the job becomes
	// canceled, as AWX's cancel is asynchronous. Default 500ms.
	CancelDelay time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Inventory holds the templates served. nil serves DemoInventory.
	Inventory *Inventory
	// FirstJobID is the id of the first job launched; default 101. A
	// simulator that restarts while its clients remember earlier jobs
	// starts past them, as AWX never reuses an id.
	FirstJobID int64
}

const (
	awxVersion    = "24.6.1"
	nodeName      = "awxsim"
	userID        = 1
	firstJobID    = 101 // unified job ids, shared by jobs and workflow jobs
	simPrefix     = "/_sim/"
	maxBodyBytes  = 10 << 20
	authNotGiven  = "Authentication credentials were not provided. To establish a login session, visit /api/login/."
	authBadBasic  = "Invalid username/password. To establish a login session, visit /api/login/."
	authChallenge = "Bearer realm=api authorization_url=/api/o/authorize/"
)

// Server is a simulated AWX. It implements http.Handler and is safe for
// concurrent use. Create it with New.
type Server struct {
	cfg   Config
	epoch time.Time // creation time shown on templates and the user
	mux   *http.ServeMux

	mu        sync.Mutex
	jts       map[int64]*template
	wfjts     map[int64]*template
	jobs      []*job // in id order
	jobByID   map[int64]*job
	nextJobID int64
	labels    []*label
	nextLabel int64
	faults    []*activeFault
	nextFault int
	requests  map[requestKey]int
}

type requestKey struct{ method, path string }

// New returns a Server for cfg. It panics if cfg.Inventory is invalid (see
// AddJobTemplate), since that is a programming error.
func New(cfg Config) *Server {
	if cfg.JobDuration <= 0 {
		cfg.JobDuration = 10 * time.Second
	}
	if cfg.CancelDelay <= 0 {
		cfg.CancelDelay = 500 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Username == "" {
		cfg.Username = "admin"
	}
	inv := cfg.Inventory
	if inv == nil {
		demo := DemoInventory()
		inv = &demo
	}
	s := &Server{
		cfg:       cfg,
		jts:       map[int64]*template{},
		wfjts:     map[int64]*template{},
		jobByID:   map[int64]*job{},
		nextJobID: max(cfg.FirstJobID, firstJobID),
		nextLabel: 1,
		nextFault: 1,
		requests:  map[requestKey]int{},
	}
	s.epoch = s.now()
	for _, jt := range inv.JobTemplates {
		if err := s.AddJobTemplate(jt); err != nil {
			panic("awxsim: " + err.Error())
		}
	}
	for _, wf := range inv.WorkflowJobTemplates {
		if err := s.AddWorkflowJobTemplate(wf); err != nil {
			panic("awxsim: " + err.Error())
		}
	}
	s.routes()
	return s
}

// now is the configured clock in UTC at AWX's precision, so that a client
// filtering on created__gte with a microsecond timestamp it read before
// launching always finds the job.
func (s *Server) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}

// ServeHTTP counts the request, applies the first matching fault if any and
// otherwise serves it like AWX. Control endpoints under /_sim/ are never
// faulted or counted, so a test can always clear faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simPrefix) {
		s.mux.ServeHTTP(w, r)
		return
	}
	f := s.admit(r)
	if f == nil {
		s.serve(w, r)
		return
	}
	s.applyFault(w, r, f)
}

// serve answers an API request. A path missing its trailing slash is
// redirected with 301 when the slash form exists, as Django's APPEND_SLASH
// does for every method; a client that follows it with a POST turns into
// a GET, which is the behaviour to reproduce.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; !strings.HasSuffix(p, "/") {
		probe := &http.Request{Method: r.Method, Host: r.Host, URL: &url.URL{Path: p + "/"}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			loc := p + "/"
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// methods maps an HTTP method to its handler for one path.
type methods map[string]http.HandlerFunc

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeDetail(w, http.StatusNotFound, "Not found.")
	})
	open := func(pattern string, m methods) { s.handle(pattern, false, m) }
	authed := func(pattern string, m methods) { s.handle(pattern, true, m) }

	open("/{$}", methods{"GET": s.getJobPage})
	open("/api/{$}", methods{"GET": s.getAPIRoot})
	open("/api/v2/{$}", methods{"GET": s.getVersionRoot})
	open("/api/v2/ping/{$}", methods{"GET": s.getPing})
	authed("/api/v2/me/{$}", methods{"GET": s.getMe})

	for _, k := range []Kind{KindJob, KindWorkflowJob} {
		coll := templateCollection(k)
		authed("/api/v2/"+coll+"/{$}", methods{"GET": s.listTemplates(k)})
		authed("/api/v2/"+coll+"/{id}/{$}", methods{"GET": s.getTemplate(k)})
		authed("/api/v2/"+coll+"/{id}/launch/{$}", methods{"GET": s.getLaunchInfo(k), "POST": s.postLaunch(k)})
		authed("/api/v2/"+coll+"/{id}/survey_spec/{$}", methods{"GET": s.getSurveySpec(k)})

		jc := jobCollection(k)
		authed("/api/v2/"+jc+"/{$}", methods{"GET": s.listJobs(k)})
		authed("/api/v2/"+jc+"/{id}/{$}", methods{"GET": s.getJob(k)})
		authed("/api/v2/"+jc+"/{id}/cancel/{$}", methods{"GET": s.getCancel(k), "POST": s.postCancel(k)})
	}
	authed("/api/v2/workflow_job_templates/{id}/workflow_nodes/{$}", methods{"GET": s.listWorkflowNodes})
	authed("/api/v2/workflow_job_template_nodes/{id}/{$}", methods{"GET": s.getWorkflowNode})
	authed("/api/v2/labels/{$}", methods{"GET": s.listLabels, "POST": s.postLabel})
	authed("/api/v2/labels/{id}/{$}", methods{"GET": s.getLabel})

	authed(simPrefix+"faults", methods{"GET": s.simListFaults, "POST": s.simPostFault, "DELETE": s.simClearFaults})
	authed(simPrefix+"faults/{id}", methods{"DELETE": s.simDeleteFault})
	authed(simPrefix+"jobs", methods{"GET": s.simListJobs})
	authed(simPrefix+"jobs/{id}/status", methods{"POST": s.simSetJobStatus})
}

// handle registers pattern. Like DRF, authentication is checked before the
// method, so an anonymous request with a wrong method gets 401, while an
// unknown path gets 404 whoever asks.
func (s *Server) handle(pattern string, auth bool, m methods) {
	allow := allowHeader(m)
	numericID := strings.Contains(pattern, "{id}")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := pathID(r); numericID && !ok {
			// AWX's URL patterns only match digits: no such path.
			writeDetail(w, http.StatusNotFound, "Not found.")
			return
		}
		h := w.Header()
		h.Set("X-API-Product-Name", "AWX")
		h.Set("X-API-Node", nodeName)
		h.Set("Allow", allow)
		if auth {
			if !s.authenticate(w, r) {
				return
			}
			h.Set("X-API-Product-Version", awxVersion)
		}
		fn, ok := m[r.Method]
		if !ok && r.Method == http.MethodHead {
			fn, ok = m[http.MethodGet]
		}
		if !ok {
			writeDetail(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %q not allowed.", r.Method))
			return
		}
		fn(w, r)
	})
}

func allowHeader(m methods) string {
	var out []string
	for _, name := range []string{"GET", "POST", "DELETE"} {
		if _, ok := m[name]; ok {
			out = append(out, name)
		}
	}
	if _, ok := m["GET"]; ok {
		out = append(out, "HEAD")
	}
	return strings.Join(out, ", ")
}

// authenticate answers 401 itself when the request carries no accepted
// token. An unknown bearer token gets the same answer as no token at all,
// because AWX treats it as an anonymous request.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	msg := authNotGiven
	switch strings.ToLower(scheme) {
	case "bearer":
		if s.tokenAccepted(cred) {
			return true
		}
	case "basic":
		msg = authBadBasic
	}
	w.Header().Set("WWW-Authenticate", authChallenge)
	writeDetail(w, http.StatusUnauthorized, msg)
	return false
}

func (s *Server) tokenAccepted(tok string) bool {
	if tok == "" {
		return false
	}
	if len(s.cfg.Tokens) == 0 {
		return true
	}
	ok := false
	for _, t := range s.cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			ok = true
		}
	}
	return ok
}

func (s *Server) getAPIRoot(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"description":             "AWX REST API",
		"current_version":         "/api/v2/",
		"available_versions":      map[string]any{"v2": "/api/v2/"},
		"oauth2":                  "/api/o/",
		"custom_logo":             "",
		"custom_login_info":       "",
		"login_redirect_override": "",
	})
}

func (s *Server) getVersionRoot(w http.ResponseWriter, _ *http.Request) {
	out := map[string]any{}
	for _, name := range []string{"ping", "me", "job_templates", "jobs", "workflow_job_templates",
		"workflow_jobs", "workflow_job_template_nodes", "labels"} {
		out[name] = "/api/v2/" + name + "/"
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPing(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"ha":           false,
		"version":      awxVersion,
		"active_node":  nodeName,
		"install_uuid": "00000000-0000-4000-8000-00000000a3c5",
		"instances": []any{map[string]any{
			"node": nodeName, "node_type": "hybrid", "uuid": "00000000-0000-4000-8000-0000000000a1",
			"heartbeat": timestamp(s.now()), "capacity": 100, "version": awxVersion,
		}},
		"instance_groups": []any{map[string]any{"name": "default", "capacity": 100, "instances": []string{nodeName}}},
	})
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	u := s.userRepr()
	u["related"] = map[string]any{"teams": "/api/v2/users/1/teams/", "organizations": "/api/v2/users/1/organizations/",
		"roles": "/api/v2/users/1/roles/", "tokens": "/api/v2/users/1/tokens/", "personal_tokens": "/api/v2/users/1/personal_tokens/"}
	u["summary_fields"] = map[string]any{"user_capabilities": map[string]any{"edit": true, "delete": false}}
	u["created"] = timestamp(s.epoch)
	u["modified"] = timestamp(s.epoch)
	u["first_name"], u["last_name"] = "", ""
	u["email"] = s.cfg.Username + "@example.com"
	u["is_superuser"], u["is_system_auditor"] = false, false
	u["ldap_dn"], u["external_account"] = "", nil
	u["last_login"] = nil
	u["auth"] = []any{}
	writePage(w, r, []any{u})
}

// userRepr is the user's short form as it appears in summary fields.
func (s *Server) userRepr() map[string]any {
	return map[string]any{"id": userID, "type": "user", "url": fmt.Sprintf("/api/v2/users/%d/", userID), "username": s.cfg.Username}
}

// apiError is an answer in one of DRF's error shapes.
type apiError struct {
	status int
	body   any
}

func detailError(status int, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"detail": msg}}
}

func notFound() *apiError { return detailError(http.StatusNotFound, "Not found.") }

func (e *apiError) write(w http.ResponseWriter) { writeJSON(w, e.status, e.body) }

func writeDetail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"detail": msg})
}

// writeJSON renders like DRF's JSON renderer: no HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// pathID parses the {id} path segment. AWX's URL patterns only match
// digits, so anything else is a 404.
func pathID(r *http.Request) (int64, bool) {
	raw := r.PathValue("id")
	if raw == "" || strings.TrimLeft(raw, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	return id, err == nil
}

// timestamp is AWX's format: UTC, microseconds, "Z".
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func timestampOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timestamp(*t)
}

// onTemplate serves a request about one template under the lock; an unknown
// template is AWX's 404.
func (s *Server) onTemplate(k Kind, serve func(w http.ResponseWriter, r *http.Request, t *template)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.templateFromPath(k, r)
		if t == nil {
			notFound().write(w)
			return
		}
		serve(w, r, t)
	}
}

// onJob serves a request about one job under the lock; an unknown job is
// AWX's 404.
func (s *Server) onJob(k Kind, serve func(w http.ResponseWriter, r *http.Request, j *job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := pathID(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		j := s.lookupJob(k, id)
		if j == nil {
			notFound().write(w)
			return
		}
		serve(w, r, j)
	}
}
