// Package api is Countersign's REST API (SPEC 5): gin handlers that parse
// a call, ask package access, call the store or the request service
// (package requests, which owns every multi-step request operation) and
// render typed views, with AWX-style pagination and error bodies. Errors
// become answers in one place (errorResponse). Every call is
// authenticated but /api/v2/ping/ and /api/v2/openapi.json, the API's
// OpenAPI 3.1 document (see openapi.go): every route under /api/v2/ but the
// codec's is in it, and the tests hold every answer to it. Package access
// decides what the caller may see and do.
package api

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// Deps are what the API needs.
type Deps struct {
	// Store is PostgreSQL (a *store.Store) or a stand-in for it.
	Store    Store
	Temporal client.Client
	AWX      *awx.Client
	Logger   *slog.Logger
	// TaskQueue is where request workflows are started.
	TaskQueue string
	// Registry collects the API's metrics (and, when the caller wires them
	// there, the Temporal SDK's); /metrics serves it. Nil: a new one.
	Registry *prometheus.Registry
	// MetricsElsewhere leaves /metrics out of Handler: the caller serves
	// MetricsHandler on an address of its own (METRICS_ADDR).
	MetricsElsewhere bool
	// AWXCacheTTL bounds how long answers from AWX (surveys, launch
	// settings) are reused. Default 30s.
	AWXCacheTTL time.Duration
	// TemporalTimeout bounds each call to Temporal made while answering a
	// request (queries, updates, starts). Default 5s.
	TemporalTimeout time.Duration
	// SessionIdleTimeout ends a portal session unused for that long
	// (default 8h); SessionMaxLifetime ends it that long after sign-in,
	// however used (default 24h). Both are measured on Now.
	SessionIdleTimeout time.Duration
	SessionMaxLifetime time.Duration
	// SessionCleanupInterval is how often RunSessionCleanup deletes the
	// sessions that have ended (default 10m); SessionCleanupBatch bounds
	// the rows each of its statements deletes (default 1000).
	SessionCleanupInterval time.Duration
	SessionCleanupBatch    int
	// DevTokens accepts the tokens "dev-<username>"; for `countersign dev`
	// only. The portal's sign-in page then offers a picker of the users.
	DevTokens bool
	// OIDC, when set, signs portal users in through an OpenID provider
	// (DiscoverOIDC).
	OIDC *OIDC
	// NoTokenSignIn refuses the portal's sign-in with an API token
	// (PORTAL_TOKEN_SIGNIN=false); API calls with a token are unaffected.
	NoTokenSignIn bool
	// SlackLinks, when set, serves the portal's confirmation of the Slack
	// app's one-time links (/ui/slack/link).
	SlackLinks SlackLinkStore
	// Now is the API's clock (time.Now when nil): the time its decision
	// proofs are signed at.
	Now func() time.Time
	// PayloadKeys encrypt Temporal payloads (the Temporal client's data
	// converter uses the same ring): the codec endpoint decodes with them,
	// and the API signs its callers' decisions with keys derived from them.
	// Required.
	PayloadKeys *codec.Ring
	// CodecTeam names the team ("<organization>/<team>") whose members may
	// decode payloads through the codec endpoint, besides superusers.
	CodecTeam string
	// CodecOrigins are the browser origins allowed to call the codec
	// endpoint (the Temporal Web UI's).
	CodecOrigins []string
	// StageLimits bound the timeouts and reminder intervals of approval
	// stages, when policies are saved and when plans are frozen into
	// requests. Unset limits are approval.DefaultStageLimits'.
	StageLimits approval.StageLimits
	// MailLinkKey, with MailLinks, verifies the decision links of mails;
	// the portal's confirm page (/ui/mail/decide) exists only with both.
	MailLinkKey *mail.LinkKey
	// MailLinks records the uses of the links (a *store.Store).
	MailLinks requests.MailLinkStore
	// WorkflowRevision: see requests.Config.
	WorkflowRevision int
}

// Server is the API.
type Server struct {
	d       Deps
	log     *slog.Logger
	metrics *httpMetrics
	// sessionsDeleted counts the ended sessions RunSessionCleanup deleted.
	sessionsDeleted prometheus.Counter
	awx             templateCache
	// requests is the request service every channel calls.
	requests *requests.Service
}

// Close waits for the work started after answering to finish.
func (s *Server) Close() { s.requests.Close() }

// Requests is the request service the API's handlers call, for the other
// channels served by the same process (the Slack app).
func (s *Server) Requests() *requests.Service { return s.requests }

// New builds the API. d.Store, d.Temporal and d.PayloadKeys are required.
func New(d Deps) *Server {
	if d.PayloadKeys == nil {
		panic("api: Deps.PayloadKeys is required")
	}
	if d.Store == nil {
		// Routes take the store's methods as values when they are mounted,
		// which panics on a nil interface but not on a nil *store.Store: a
		// server that only serves /api/v2/ping/ and /metrics needs no store.
		d.Store = (*store.Store)(nil)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.AWXCacheTTL <= 0 {
		d.AWXCacheTTL = 30 * time.Second
	}
	if d.TemporalTimeout <= 0 {
		d.TemporalTimeout = 5 * time.Second
	}
	if d.SessionIdleTimeout <= 0 {
		d.SessionIdleTimeout = 8 * time.Hour
	}
	if d.SessionMaxLifetime <= 0 {
		d.SessionMaxLifetime = 24 * time.Hour
	}
	if d.SessionCleanupInterval <= 0 {
		d.SessionCleanupInterval = 10 * time.Minute
	}
	if d.SessionCleanupBatch <= 0 {
		d.SessionCleanupBatch = 1000
	}
	d.StageLimits = d.StageLimits.WithDefaults()
	// How often policy conditions are compiled (when saved, and on their
	// first use by this process): growth without policy edits means the
	// compiled programs are not being reused.
	d.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "countersign",
		Name:      "policy_condition_compiles_total",
		Help:      "Policy conditions compiled: checked when saved, or compiled on first use.",
	}, func() float64 { return float64(approval.ConditionCompiles()) }))
	sessionsDeleted := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "countersign",
		Name:      "sessions_deleted_total",
		Help:      "Ended portal sessions (revoked, expired or idle) deleted by the clean-up.",
	})
	d.Registry.MustRegister(sessionsDeleted)
	templates := requests.NewTemplates(d.AWX, d.AWXCacheTTL)
	return &Server{
		d:               d,
		log:             d.Logger,
		metrics:         newHTTPMetrics(d.Registry),
		sessionsDeleted: sessionsDeleted,
		awx:             templateCache{templates},
		requests: requests.New(requests.Config{
			Store: d.Store, Temporal: d.Temporal, Templates: templates, Logger: d.Logger,
			TaskQueue: d.TaskQueue, TemporalTimeout: d.TemporalTimeout, Signer: proof.ServiceKeysFrom(d.PayloadKeys),
			Now: d.Now, StageLimits: d.StageLimits, MailLinks: d.MailLinks, WorkflowRevision: d.WorkflowRevision,
		}),
	}
}

// Handler is the HTTP handler of the API, with the web portal (package
// web: "/", /ui/, /static/) and, unless Deps.MetricsElsewhere, /metrics
// beside it.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.requestID, s.logRequests, s.recoverPanics, s.limitBody, s.renderErrors)
	if s.d.DevTokens {
		r.Use(localhostOnly)
	}
	r.NoRoute(func(c *gin.Context) { c.Error(errNotFound) })
	r.NoMethod(func(c *gin.Context) {
		c.Error(refuse(methodNotAllowed, `Method "`+c.Request.Method+`" not allowed.`))
	})
	if !s.d.MetricsElsewhere {
		r.GET("/metrics", gin.WrapH(s.MetricsHandler()))
	}
	s.mountPortal(r)
	s.codecRoutes(r)

	v2 := r.Group("/api/v2")
	v2.GET("/ping/", s.ping)
	v2.GET("/openapi.json", s.openAPIDocument)
	a := v2.Group("", s.authenticate)
	a.GET("/me/", handle(s.me))
	s.organizationRoutes(a)
	s.userRoutes(a)
	s.decisionKeyRoutes(a)
	s.delegationRoutes(a)
	s.sessionRoutes(a)
	s.teamRoutes(a)
	s.catalogRoutes(a)
	s.policyRoutes(a)
	s.requestRoutes(a)
	return r
}

// MetricsHandler serves the registry's metrics in Prometheus's text format,
// whatever the path.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.d.Registry, promhttp.HandlerOpts{})
}

func (s *Server) ping(c *gin.Context) {
	c.JSON(http.StatusOK, Ping{Ping: "pong", Version: Version})
}

// me answers who the caller is, with their organizations and teams.
// me answers who the caller is, with their organizations and teams.
func (s *Server) me(c *gin.Context) error {
	p := caller(c)
	ctx := c.Request.Context()
	u, err := s.d.Store.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	roles, err := s.d.Store.UserRoles(ctx, p.UserID)
	if err != nil {
		return err
	}
	orgs, _, err := s.d.Store.ListOrganizations(ctx, store.OrganizationFilter{IDs: nonNilIDs(roles.MemberOf)}, store.ListOptions{PageSize: 200})
	if err != nil {
		return err
	}
	out := Identity{User: userView(p, u), Organizations: []Membership{}, Teams: []TeamRef{}}
	for _, o := range orgs {
		role := "member"
		if slices.Contains(roles.AdminOf, o.ID) {
			role = "admin"
		}
		out.Organizations = append(out.Organizations, Membership{ID: o.ID, Name: o.Name, Role: role})
	}
	for _, t := range roles.Teams {
		out.Teams = append(out.Teams, TeamRef{ID: t.ID, Name: t.Name, Organization: t.OrganizationID})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// Version is the API's version, reported by /api/v2/ping/.
const Version = "2"
