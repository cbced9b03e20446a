package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MailLinks checks and confirms the decision links of mails: the API
// implements it over the request service. sessionID is the browser's
// session cookie, "" without one.
type MailLinks interface {
	// Preview describes the decision token grants to the browser, or
	// refuses it (*MailRefusal, *StepUp).
	Preview(ctx context.Context, token, sessionID string) (MailDecision, error)
	// Confirm takes the decision, with reason; refusals as Preview's. A
	// refusal of the decision itself (a reason missing or too long) comes
	// with the decision, for the form to be shown again.
	Confirm(ctx context.Context, token, sessionID, reason string) (MailDecision, error)
}

// MailDecision is what a link grants: the decision and the request it is
// about.
type MailDecision struct {
	User          string
	Action        string // approve or reject
	RequestID     int64
	CatalogItem   string
	Requester     string
	Justification string
	Stage         string
	Deadline      *time.Time
	// Answers are the request's answers as lines of text, password answers
	// masked (requests.AnswerLines).
	Answers []string
	// Status is the request's status after a confirmed decision.
	Status string
}

// MailRefusal is why a link cannot be used, with the rule's code.
type MailRefusal struct {
	Status  int
	Code    string
	Message string
}

func (r *MailRefusal) Error() string { return r.Message }

// StepUp asks the browser to sign in again, as recently as Within, before
// the link's decision: its stage requires a recent sign-in.
type StepUp struct{ Within time.Duration }

func (s *StepUp) Error() string { return "the decision needs a recent sign-in" }

// mailDecidePath is the confirm page of mails' decision links.
const mailDecidePath = "/ui/mail/decide"

// maxMailLinkToken bounds a mail link's token.
const maxMailLinkToken = 1024

// mailDecideRoute is the confirm page for token as a sign-in's next route
// (see NextRoute).
func mailDecideRoute(token string) string {
	return mailDecidePath + "?t=" + token
}

// linkToken is v when it may be a link's token (base64url and a dot,
// bounded), else "".
func linkToken(v string) string {
	if v == "" || len(v) > maxMailLinkToken {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return v
}

type mailPage struct {
	Decision MailDecision
	Token    string
	CSRF     string
	Reason   string
	Done     bool
	Refusal  *MailRefusal
}

func (p *Portal) mailSession(r *http.Request) string {
	id, _ := SessionID(r)
	return id
}

// mailDecide is GET /ui/mail/decide?t=…: the confirm page. A GET never
// decides (mail scanners fetch links); it shows the request and a form
// that posts the decision back with the CSRF value.
func (p *Portal) mailDecide(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := linkToken(r.URL.Query().Get("t"))
	if token == "" {
		p.mailRefused(w, malformedLink())
		return
	}
	d, err := p.cfg.MailLinks.Preview(r.Context(), token, p.mailSession(r))
	if p.mailError(w, r, token, err) {
		return
	}
	csrf := ensureCSRFCookie(w, r)
	p.render(w, http.StatusOK, "maildecide.html", mailPage{Decision: d, Token: token, CSRF: csrf})
}

// malformedLink is the refusal of a token that cannot be a link's.
func malformedLink() *MailRefusal {
	return &MailRefusal{Status: http.StatusBadRequest, Code: "link_invalid", Message: "This link is not valid: it was changed or cut short. Open the request in the portal instead."}
}

// mailConfirm is POST /ui/mail/decide: the decision, confirmed. Cross-site
// posts and posts without the CSRF value are refused.
func (p *Portal) mailConfirm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if crossSite(r) || !csrfMatches(r, r.PostFormValue("csrf")) {
		p.errorPage(w, http.StatusForbidden, "CSRF token missing or incorrect. Open the link from the mail again.")
		return
	}
	token := linkToken(r.PostFormValue("t"))
	if token == "" {
		p.mailRefused(w, malformedLink())
		return
	}
	reason := r.PostFormValue("reason")
	d, err := p.cfg.MailLinks.Confirm(r.Context(), token, p.mailSession(r), reason)
	var ref *MailRefusal
	if errors.As(err, &ref) && (ref.Code == "reason_required" || ref.Code == "too_long") && d.RequestID != 0 {
		// The form again, with what to fix.
		p.render(w, ref.Status, "maildecide.html", mailPage{Decision: d, Token: token, CSRF: csrfCookie(r), Reason: reason, Refusal: ref})
		return
	}
	if p.mailError(w, r, token, err) {
		return
	}
	p.render(w, http.StatusOK, "maildecide.html", mailPage{Decision: d, Done: true})
}

// mailError answers err, if any, and reports whether it did: a step-up
// goes through the sign-in again and back to the confirm page.
func (p *Portal) mailError(w http.ResponseWriter, r *http.Request, token string, err error) bool {
	if err == nil {
		return false
	}
	var step *StepUp
	var ref *MailRefusal
	switch {
	case errors.As(err, &step):
		q := url.Values{"within": {step.Within.String()}, "next": {mailDecideRoute(token)}}
		http.Redirect(w, r, "/ui/signin/again?"+q.Encode(), http.StatusSeeOther)
	case errors.As(err, &ref):
		p.mailRefused(w, ref)
	default:
		p.log.Warn("checking a mail link failed", "error", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Countersign cannot check this link right now; try again shortly.")
	}
	return true
}

func (p *Portal) mailRefused(w http.ResponseWriter, ref *MailRefusal) {
	status := ref.Status
	if status == 0 {
		status = http.StatusConflict
	}
	p.render(w, status, "maildecide.html", mailPage{Refusal: ref})
}

// nextLocation is where a sign-in that asked for next sends the browser:
// the portal at a hash route, or the confirm page of a mail link.
func nextLocation(next string) string {
	if strings.HasPrefix(next, mailDecidePath+"?t=") {
		return next
	}
	return "/" + next
}
