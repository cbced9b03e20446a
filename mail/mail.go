// Package mail delivers Countersign's notifications as e-mail over SMTP:
// one multipart/alternative message (plain text and HTML) per recipient
// with an e-mail address. Pending and reminder mails may carry signed
// Approve and Reject links (see Link) that open a confirm page in the
// portal.
package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/countersign/countersign/notify"
)

// Links are the decision links of one pending or reminder mail.
type Links struct {
	Approve string
	Reject  string
}

// LinkFunc returns the links a recipient's mail about n carries, or nil
// for none. It is called for pending and reminder notifications only.
type LinkFunc func(n notify.Notification, to notify.Recipient) (*Links, error)

// Sender sends notifications through an SMTP server. Configure it with
// New; its errors never show the server's password.
type Sender struct {
	addr     string
	implicit bool // smtps://: TLS from the first byte
	host     string
	user     string
	password string
	from     *mail.Address
	// TLS, when set, replaces the TLS configuration (tests trust their
	// own certificate with it).
	TLS *tls.Config
	// Links, when set, adds decision links to pending and reminder mails.
	Links LinkFunc
	// PortalURL, when set, is where mails point for the request.
	PortalURL string
	// Timeout bounds one SMTP session; zero means 30s.
	Timeout time.Duration
}

// New configures a Sender from SMTP_URL and SMTP_FROM. rawURL is
// smtp://[user:password@]host[:port] (port 587 by default; STARTTLS is
// used when the server offers it, and required when a password would be
// sent to a host other than this one) or smtps://… (port 465, implicit
// TLS). Credentials are sent with AUTH PLAIN. Errors never repeat the
// password.
func New(rawURL, from string) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("SMTP_URL must be an smtp:// or smtps:// URL")
	}
	s := &Sender{}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicit = true
	default:
		return nil, errors.New("SMTP_URL must be an smtp:// or smtps:// URL")
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("SMTP_URL must be smtp[s]://[user:password@]host[:port] with nothing after the host")
	}
	s.host = u.Hostname()
	port := u.Port()
	if port == "" {
		port = "587"
		if s.implicit {
			port = "465"
		}
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	addr, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("SMTP_FROM must be an e-mail address, e.g. Countersign <countersign@example.com>")
	}
	s.from = addr
	return s, nil
}

// Addr is the server's host:port.
func (s *Sender) Addr() string { return s.addr }

// Notify sends one mail about n to each recipient with an e-mail address
// (NotifyRecipients, forgetting who was served).
func (s *Sender) Notify(ctx context.Context, n notify.Notification) error {
	_, err := s.NotifyRecipients(ctx, n)
	return err
}

// NotifyRecipients sends one mail about n to each recipient with an
// e-mail address, in one SMTP session, and answers the usernames served:
// those whose mail the server took, and those it refused for good (5xx).
// A recipient whose address is invalid is skipped. A failure for one
// recipient does not stop the others; the error then wraps
// notify.ErrPermanent only when every failure was a refusal for good.
// Message-ID stays the same across retries.
func (s *Sender) NotifyRecipients(ctx context.Context, n notify.Notification) ([]string, error) {
	type out struct {
		user, to string
		msg      []byte
	}
	var msgs []out
	for _, r := range n.Recipients {
		if r.Email == "" {
			continue
		}
		to, err := mail.ParseAddress(r.Email)
		if err != nil || strings.ContainsAny(r.Email, "\r\n") {
			continue
		}
		var links *Links
		if s.Links != nil && (n.Kind == notify.KindPending || n.Kind == notify.KindReminder) {
			if links, err = s.Links(n, r); err != nil {
				return nil, fmt.Errorf("decision links for %s: %w", r.Username, err)
			}
		}
		msg, err := s.compose(n, r, to, links)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, out{user: r.Username, to: to.Address, msg: msg})
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var served []string
	var refused, retry error
	for _, m := range msgs {
		err := c.SendMail(s.from.Address, []string{m.to}, bytes.NewReader(m.msg))
		if err == nil {
			served = append(served, m.user)
			continue
		}
		err = fmt.Errorf("to %s: %w", m.user, s.classify(err))
		if errors.Is(err, notify.ErrPermanent) {
			served, refused = append(served, m.user), errors.Join(refused, err)
		} else {
			retry = errors.Join(retry, err)
		}
		// The failed transaction is abandoned before the next one; a
		// session that cannot do that leaves the rest to the retry.
		if rerr := c.Reset(); rerr != nil {
			return served, transient(errors.Join(retry, fmt.Errorf("the SMTP session ended: %s", s.classify(rerr))), refused)
		}
	}
	_ = c.Quit()
	if retry != nil {
		return served, transient(retry, refused)
	}
	return served, refused
}

// transient is retry, naming the recipients refused for good without
// wrapping their notify.ErrPermanent: some recipients are left to retry.
func transient(retry, refused error) error {
	if refused == nil {
		return retry
	}
	return fmt.Errorf("%w; refused for good: %s", retry, refused)
}

// dial opens an SMTP session, with TLS and authentication as configured.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	connect := func() (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("connect to the SMTP server %s: %w", s.addr, errors.Unwrap(err))
		}
		_ = conn.SetDeadline(deadline)
		return conn, nil
	}
	conn, err := connect()
	if err != nil {
		return nil, err
	}
	tlsConfig := s.tlsConfig()
	var c *smtp.Client
	if s.implicit {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS with the SMTP server %s: %w", s.addr, err)
		}
		c = smtp.NewClient(tc)
	} else {
		// The extensions are only known after EHLO, and the client starts
		// TLS only on a new session: a server offering STARTTLS is
		// connected to again.
		c = smtp.NewClient(conn)
		if err := c.Hello("localhost"); err != nil {
			c.Close()
			return nil, s.classify(err)
		}
		offered, _ := c.Extension("STARTTLS")
		switch {
		case offered:
			_ = c.Close()
			if conn, err = connect(); err != nil {
				return nil, err
			}
			if c, err = smtp.NewClientStartTLS(conn, tlsConfig); err != nil {
				return nil, fmt.Errorf("STARTTLS with the SMTP server %s: %w", s.addr, err)
			}
		case s.password != "" && !loopback(s.host):
			c.Close()
			return nil, fmt.Errorf("%w: the SMTP server %s does not offer STARTTLS; the password is not sent in clear", notify.ErrPermanent, s.addr)
		}
	}
	if s.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.password)); err != nil {
			c.Close()
			return nil, s.classify(err)
		}
	}
	return c, nil
}

func (s *Sender) tlsConfig() *tls.Config {
	if s.TLS != nil {
		return s.TLS.Clone()
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// classify turns a server's answer into a delivery error: 5xx are
// permanent. The answer never holds the password (AUTH PLAIN sends it,
// servers do not repeat it), but it is removed all the same.
func (s *Sender) classify(err error) error {
	msg := err.Error()
	if s.password != "" {
		msg = strings.ReplaceAll(msg, s.password, "***")
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return fmt.Errorf("%w: the SMTP server %s answered: %s", notify.ErrPermanent, s.addr, msg)
	}
	return fmt.Errorf("the SMTP server %s answered: %s", s.addr, msg)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// compose writes the message to one recipient.
func (s *Sender) compose(n notify.Notification, r notify.Recipient, to *mail.Address, links *Links) ([]byte, error) {
	view := mailView{N: n, To: r, Links: links}
	if s.PortalURL != "" {
		view.Open = notify.RequestPage(s.PortalURL, n.RequestID)
	}
	var text, html bytes.Buffer
	if err := textBody.Execute(&text, view); err != nil {
		return nil, err
	}
	if err := htmlBody.Execute(&html, view); err != nil {
		return nil, err
	}

	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	sum := sha256.Sum256([]byte(n.ID + "\x00" + r.Username))
	headers := []struct{ k, v string }{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", headerText(n.Subject))},
		{"Date", n.Time.UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(sum[:16]) + "@countersign>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/alternative; boundary="` + mw.Boundary() + `"`},
		{"X-Countersign-Event", string(n.Kind)},
		{"Auto-Submitted", "auto-generated"},
	}
	if n.Time.IsZero() {
		headers[3].v = time.Now().UTC().Format(time.RFC1123Z)
	}
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.k, h.v)
	}
	b.WriteString("\r\n")
	for _, part := range []struct {
		ctype string
		body  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(crlf(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// headerText is s on one line, without control characters, bounded: what
// a header may carry of text that users wrote.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// crlf ends every line of b with CRLF, as mail wants.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

type mailView struct {
	N     notify.Notification
	To    notify.Recipient
	Links *Links
	Open  string
}

var textBody = texttemplate.Must(texttemplate.New("text").Parse(`{{.N.Subject}}

{{.N.Message}}
{{if .Links}}
Approve: {{.Links.Approve}}
Reject:  {{.Links.Reject}}

Each link opens a page where you confirm the decision; it works once,
for you only, until the stage's deadline.
{{end}}{{if .Open}}
Open the request: {{.Open}}
{{end}}
--
Countersign notification {{.N.ID}} for {{.To.Username}}
`))

var htmlBody = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><body>
<h2>{{.N.Subject}}</h2>
<p>{{.N.Message}}</p>
{{if .Links}}<p><a href="{{.Links.Approve}}">Approve</a> &middot; <a href="{{.Links.Reject}}">Reject</a></p>
<p><small>Each link opens a page where you confirm the decision; it works once, for you only, until the stage's deadline.</small></p>
{{end}}{{if .Open}}<p><a href="{{.Open}}">Open the request</a></p>
{{end}}<hr><p><small>Countersign notification {{.N.ID}} for {{.To.Username}}</small></p>
</body></html>
`))
