// Package catcher is an SMTP server that keeps the mails it receives in
// memory, and a page listing them: `countersign dev` runs one so mails
// can be read without a mail server, and tests receive mail with it. It is
// built on github.com/emersion/go-smtp.
package catcher

import (
	"bytes"
	"crypto/tls"
	"errors"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received mail, parsed.
type Message struct {
	From     string
	To       []string
	Header   mail.Header
	Subject  string // decoded
	Text     string // the text/plain part
	HTML     string // the text/html part
	Received time.Time
	// TLS tells whether the session was encrypted; User is who
	// authenticated, if anyone.
	TLS  bool
	User string
}

// Options configure a Catcher. With TLS, the server offers STARTTLS; with
// Users, it requires AUTH PLAIN (user → password) before accepting mail.
type Options struct {
	TLS   *tls.Config
	Users map[string]string
	// Refuse, when set, may refuse a recipient (RCPT TO) with the error it
	// answers, an *smtp.SMTPError for a reply code: for tests of
	// senders' failures.
	Refuse func(to string) error
	// RefuseAuth, when set, answers an AUTH with wrong credentials with
	// the error it returns for them, as a server that repeats what it was
	// sent would: for tests that a sender never shows a password.
	RefuseAuth func(user, password string) error
}

// Catcher receives mail on a loopback port until Close.
type Catcher struct {
	srv  *smtp.Server
	ln   net.Listener
	opts Options

	mu   sync.Mutex
	msgs []Message
	wake chan struct{}
}

// maxMessage bounds a received mail.
const maxMessage = 1 << 20

// Listen starts a Catcher on addr (e.g. 127.0.0.1:0).
func Listen(addr string, opts Options) (*Catcher, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Catcher{ln: ln, opts: opts, wake: make(chan struct{})}
	c.srv = smtp.NewServer(smtp.BackendFunc(func(conn *smtp.Conn) (smtp.Session, error) {
		return &session{c: c, conn: conn}, nil
	}))
	c.srv.Domain = "localhost"
	c.srv.TLSConfig = opts.TLS
	c.srv.MaxMessageBytes = maxMessage
	c.srv.MaxRecipients = 50
	c.srv.ReadTimeout, c.srv.WriteTimeout = time.Minute, time.Minute
	c.srv.ErrorLog = discard{}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// Addr is the host:port the Catcher listens on.
func (c *Catcher) Addr() string { return c.ln.Addr().String() }

// Close stops the server.
func (c *Catcher) Close() error { return c.srv.Close() }

// Messages returns what was received, oldest first.
func (c *Catcher) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

// Wait returns once at least n messages arrived, or false after timeout.
func (c *Catcher) Wait(n int, timeout time.Duration) ([]Message, bool) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		msgs, wake := append([]Message(nil), c.msgs...), c.wake
		c.mu.Unlock()
		if len(msgs) >= n {
			return msgs, true
		}
		select {
		case <-wake:
		case <-deadline:
			return msgs, false
		}
	}
}

func (c *Catcher) add(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	close(c.wake)
	c.wake = make(chan struct{})
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

type session struct {
	c    *Catcher
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (s *session) AuthMechanisms() []string {
	if len(s.c.opts.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if want, ok := s.c.opts.Users[user]; !ok || want != pass {
			if s.c.opts.RefuseAuth != nil {
				return s.c.opts.RefuseAuth(user, pass)
			}
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.c.opts.Users) > 0 && s.user == "" {
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.c.opts.Refuse != nil {
		if err := s.c.opts.Refuse(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxMessage))
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	m.From, m.To, m.User, m.Received = s.from, s.to, s.user, time.Now()
	_, m.TLS = s.conn.TLSConnectionState()
	s.c.add(m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Parse reads a mail: its headers, decoded subject, and text and HTML
// parts (of a multipart/alternative message or a single part).
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, err
	}
	ctype, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Message{}, err
	}
	if !strings.HasPrefix(ctype, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return Message{}, err
		}
		m.Text = string(body)
		return m, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Message{}, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return Message{}, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
	return m, nil
}

// ServeHTTP lists the caught mails, newest first: headers, and the text
// part with its links clickable. The HTML part is not rendered, so that
// nothing a mail holds runs in the page.
func (c *Catcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	msgs := c.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, msgs)
}

// Linkify splits text into plain runs and http(s) links.
func Linkify(text string) []Run {
	var out []Run
	for text != "" {
		i := strings.Index(text, "http://")
		if j := strings.Index(text, "https://"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			out = append(out, Run{Text: text})
			break
		}
		if i > 0 {
			out = append(out, Run{Text: text[:i]})
		}
		end := strings.IndexAny(text[i:], " \t\r\n<>\"")
		if end < 0 {
			end = len(text) - i
		}
		out = append(out, Run{Text: text[i : i+end], Link: true})
		text = text[i+end:]
	}
	return out
}

// Run is a piece of a mail's text; Link runs are URLs.
type Run struct {
	Text string
	Link bool
}

var page = template.Must(template.New("mails").Funcs(template.FuncMap{
	"linkify": Linkify,
	"safeurl": func(s string) template.URL {
		if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
			return template.URL(s)
		}
		return "#"
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Caught mails</title>
<style>body{font-family:sans-serif;margin:2em}article{border:1px solid #ccc;padding:1em;margin:1em 0}pre{white-space:pre-wrap}</style></head>
<body><h1>Caught mails ({{len .}})</h1>
{{range .}}<article class="mail">
<h2 class="subject">{{.Subject}}</h2>
<p><b>To:</b> {{range .To}}<span class="to">{{.}}</span> {{end}} &middot; <b>From:</b> {{.From}} &middot; {{.Received.Format "15:04:05"}}</p>
<pre class="text">{{range linkify .Text}}{{if .Link}}<a href="{{safeurl .Text}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
</article>
{{else}}<p>No mail yet.</p>{{end}}
</body></html>
`))
