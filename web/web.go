// Package web is Countersign's portal: page shells (html/template) and
// static files (CSS, ES modules, icons) embedded in the binary. The portal
// is a thin client of the REST API: pages are served here, and their
// scripts read and change everything through /api/v2/ with the session
// cookie this package sets, so the API's rules apply unchanged.
//
// The portal imports nothing of the API. Whoever mounts it gives it its
// sessions (Config.SignIn, Session, SignOut: kept server-side, the cookie
// holds only a session id), optionally sign-in through an OpenID provider
// (Config.Federation: the portal keeps the browser's side of the flow, see
// oidc.go) and, in dev mode, a way to list the demo users
// (Config.DevUsers); the API's authentication middleware accepts the
// session cookie and checks the CSRF header with SessionID and CSRFValid.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// files holds the page shells and static files. static/icons/ is filled
// with lucide's SVGs at build time (npm ci --prefix web, then a copy; see
// the Makefile) and is not committed; without it every icon shows as the
// placeholder.
//
//go:embed templates static
var files embed.FS

// User is someone who may sign in, as the dev-mode picker shows them.
type User struct {
	Username string
	// Name is the user's full name, possibly empty.
	Name string
}

// Errors of the Config functions.
var (
	// ErrBadToken is what Config.SignIn returns for a token that is
	// unknown, revoked or belongs to an inactive user.
	ErrBadToken = errors.New("the token is not valid")
	// ErrNoSession is what Config.Session returns for a session id that is
	// unknown, revoked, idle too long, past its lifetime or whose user is
	// inactive.
	ErrNoSession = errors.New("no such session")
)

// Config is what the portal needs from the process that serves it. For
// every function, an error other than the ones it names means the answer
// could not be found out (the database is down, say).
type Config struct {
	// SignIn checks an API token and starts a session for its user,
	// returning the session's id for the cookie; ErrBadToken when the
	// token is not valid. userAgent is the browser's, to tell sessions
	// apart.
	SignIn func(ctx context.Context, token, userAgent string) (sessionID string, err error)
	// Session resolves a session id into its user; ErrNoSession when the
	// session is not live.
	Session func(ctx context.Context, sessionID string) (User, error)
	// SignOut revokes a session; an id that is not a live session is not
	// an error.
	SignOut func(ctx context.Context, sessionID string) error
	// DevUsers, when set, lists the users the sign-in page offers to sign
	// in as with their dev token ("dev-<username>"). Set it only when the
	// API accepts dev tokens.
	DevUsers func(ctx context.Context) ([]User, error)
	// Federation, when set, offers sign-in through an OpenID provider
	// at /ui/signin/oidc and serves its callback.
	Federation Federation
	// NoTokenSignIn turns off sign-in with an API token.
	NoTokenSignIn bool
	// SlackLinks, when set, serves /ui/slack/link, where a signed-in user
	// confirms a one-time link of the Slack app.
	SlackLinks SlackLinks
	// MailLinks, when set, serves the confirm page of mails' decision
	// links at /ui/mail/decide.
	MailLinks MailLinks
	Logger    *slog.Logger
}

// Portal serves the portal's pages, sign-in and static files.
type Portal struct {
	cfg    Config
	log    *slog.Logger
	pages  *template.Template
	static fs.FS
	mux    *http.ServeMux
	etags  sync.Map // static path → ETag
}

// New builds the portal. SignIn, Session and SignOut are required.
func New(cfg Config) *Portal {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	p := &Portal{
		cfg:    cfg,
		log:    cfg.Logger,
		pages:  template.Must(template.ParseFS(files, "templates/*.html")),
		static: static,
		mux:    http.NewServeMux(),
	}
	p.mux.HandleFunc("GET /{$}", p.app)
	p.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	p.mux.HandleFunc("GET /ui/signin", p.signInPage)
	p.mux.HandleFunc("GET /ui/signin/again", p.signInAgain)
	p.mux.HandleFunc("POST /ui/session", p.signIn)
	p.mux.HandleFunc("POST /ui/signout", p.signOut)
	if cfg.Federation != nil {
		p.mux.HandleFunc("GET /ui/signin/oidc", p.federatedSignIn)
		p.mux.HandleFunc("GET "+cfg.Federation.CallbackPath(), p.federatedCallback)
	}
	if cfg.SlackLinks != nil {
		p.mux.HandleFunc("GET /ui/slack/link", p.slackLinkForm)
		p.mux.HandleFunc("POST /ui/slack/link", p.slackLinkConfirm)
	}
	if cfg.MailLinks != nil {
		p.mux.HandleFunc("GET "+mailDecidePath, p.mailDecide)
		p.mux.HandleFunc("POST "+mailDecidePath, p.mailConfirm)
	}
	p.mux.HandleFunc("GET /static/", p.serveStatic)
	p.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.errorPage(w, http.StatusNotFound, "There is no such page.")
	})
	return p
}

// ServeHTTP serves the portal, with headers that keep the pages from
// loading anything from elsewhere or being framed.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	p.mux.ServeHTTP(w, r)
}

// appPage is what the application shell shows before its scripts run.
type appPage struct {
	Username string
	CSRF     string
}

// app serves the single-page shell to a signed-in user and sends anyone
// else to the sign-in page.
func (p *Portal) app(w http.ResponseWriter, r *http.Request) {
	id, ok := SessionID(r)
	if !ok {
		http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
		return
	}
	user, err := p.cfg.Session(r.Context(), id)
	if errors.Is(err, ErrNoSession) {
		clearCookies(w, r)
		http.Redirect(w, r, "/ui/signin?expired=1", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.log.Warn("checking a portal session failed", "error", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot check your session right now; try again shortly.")
		return
	}
	csrf := ensureCSRFCookie(w, r)
	w.Header().Set("Cache-Control", "no-store")
	p.render(w, http.StatusOK, "app.html", appPage{Username: user.Username, CSRF: csrf})
}

func (p *Portal) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.pages.ExecuteTemplate(w, name, data); err != nil {
		p.log.Error("rendering a portal page failed", "page", name, "error", err)
	}
}

func (p *Portal) errorPage(w http.ResponseWriter, status int, msg string) {
	p.render(w, status, "error.html", struct {
		Status  int
		Title   string
		Message string
	}{status, http.StatusText(status), msg})
}

// iconsDir is where lucide's SVGs are copied at build time.
const iconsDir = "icons/"

// placeholderIcon stands in for an icon that is not installed.
const placeholderIcon = "img/icon-placeholder.svg"

// serveStatic serves the embedded static files with ETags. A missing icon
// is answered with the placeholder (and X-Icon-Missing: 1), so a catalog
// item whose icon is unknown, or a build without icons, still shows a
// sensible picture.
func (p *Portal) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "/.") {
		p.errorPage(w, http.StatusNotFound, "There is no such file.")
		return
	}
	data, err := fs.ReadFile(p.static, name)
	if err != nil && strings.HasPrefix(name, iconsDir) && strings.HasSuffix(name, ".svg") {
		w.Header().Set("X-Icon-Missing", "1")
		name = placeholderIcon
		data, err = fs.ReadFile(p.static, name)
	}
	if err != nil {
		p.errorPage(w, http.StatusNotFound, "There is no such file.")
		return
	}
	etag, ok := p.etags.Load(name)
	if !ok {
		sum := sha256.Sum256(data)
		etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		p.etags.Store(name, etag)
	}
	w.Header().Set("ETag", etag.(string))
	if strings.HasPrefix(name, iconsDir) || name == placeholderIcon {
		w.Header().Set("Cache-Control", "public, max-age=86400")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// IconsInstalled reports whether lucide's icons were embedded at build
// time (the portal works without them, with placeholder icons).
func IconsInstalled() bool {
	_, err := fs.Stat(files, "static/"+iconsDir+"server.svg")
	return err == nil
}
