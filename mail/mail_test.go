package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/mail"
	"github.com/countersign/countersign/mail/catcher"
	"github.com/countersign/countersign/notify"
)

func pending() notify.Notification {
	return notify.Notification{
		ID: "service-request-7/pending/0/0", Kind: notify.KindPending, RequestID: 7, Status: "pending_approval",
		CatalogItem: "Restart service", Requester: "alice", Stage: "SRE",
		Recipients: []notify.Recipient{{Username: "bob", Email: "bob@acme.example"}, {Username: "nobody"}, {Username: "carol", Email: "carol@acme.example"}},
		// A subject built from user input tries to add a header.
		Subject: "Request 7 (Restart <b>service</b>)\r\nBcc: evil@attacker.example needs your approval",
		Message: `alice requests Restart service: "<script>alert(1)</script>".`,
		Time:    time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC),
	}
}

// tlsCatcher is an SMTP server offering STARTTLS and requiring AUTH.
func tlsCatcher(t *testing.T) (*catcher.Catcher, *tls.Config) {
	srvTLS, cliTLS, err := catcher.SelfSigned()
	require.NoError(t, err)
	c, err := catcher.Listen("127.0.0.1:0", catcher.Options{TLS: srvTLS, Users: map[string]string{"countersign": "s3cret-pass"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, cliTLS
}

func TestSender_Notify(t *testing.T) {
	c, cliTLS := tlsCatcher(t)
	s, err := mail.New("smtp://countersign:s3cret-pass@"+c.Addr(), "Countersign <countersign@acme.example>")
	require.NoError(t, err)
	s.TLS, s.PortalURL = cliTLS, "https://countersign.acme.example/"
	s.Links = func(n notify.Notification, to notify.Recipient) (*mail.Links, error) {
		return &mail.Links{Approve: "https://countersign.acme.example/ui/mail/decide?t=approve-" + to.Username,
			Reject: "https://countersign.acme.example/ui/mail/decide?t=reject-" + to.Username}, nil
	}

	require.NoError(t, s.Notify(context.Background(), pending()))
	msgs, ok := c.Wait(2, 5*time.Second)
	require.True(t, ok)
	require.Len(t, msgs, 2, "one mail per recipient with an address")
	for i, who := range []string{"bob", "carol"} {
		m := msgs[i]
		assert.True(t, m.TLS, "STARTTLS was used")
		assert.Equal(t, "countersign", m.User, "authenticated")
		assert.Equal(t, "countersign@acme.example", m.From)
		assert.Equal(t, []string{who + "@acme.example"}, m.To)
		assert.Equal(t, "<"+who+"@acme.example>", m.Header.Get("To"))
		assert.Empty(t, m.Header.Get("Bcc"), "no header injected")
		assert.Equal(t, "Request 7 (Restart <b>service</b>)  Bcc: evil@attacker.example needs your approval", m.Subject)
		assert.Equal(t, "pending", m.Header.Get("X-Countersign-Event"))
		assert.Contains(t, m.Header.Get("Content-Type"), "multipart/alternative")
		assert.Contains(t, m.Text, `"<script>alert(1)</script>"`, "text is text")
		assert.Contains(t, m.Text, "Approve: https://countersign.acme.example/ui/mail/decide?t=approve-"+who)
		assert.Contains(t, m.Text, "Open the request: https://countersign.acme.example/ui/#/requests/7")
		assert.Contains(t, m.HTML, "&lt;script&gt;", "HTML is escaped")
		assert.NotContains(t, m.HTML, "<script>")
		assert.Contains(t, m.HTML, `<a href="https://countersign.acme.example/ui/mail/decide?t=reject-`+who+`">Reject</a>`)
	}

	t.Run("links only in pending and reminder mails", func(t *testing.T) {
		n := pending()
		n.Kind, n.ID, n.Subject = notify.KindDecided, "service-request-7/decided/0/0", "Request 7 was approved"
		n.Recipients = n.Recipients[:1]
		require.NoError(t, s.Notify(context.Background(), n))
		msgs, ok := c.Wait(3, 5*time.Second)
		require.True(t, ok)
		assert.NotContains(t, msgs[2].Text, "decide?t=")
	})
}

func TestSender_ImplicitTLS(t *testing.T) {
	srvTLS, cliTLS, err := catcher.SelfSigned()
	require.NoError(t, err)
	c, err := catcher.Listen("127.0.0.1:0", catcher.Options{})
	require.NoError(t, err)
	defer c.Close()
	// A TLS listener in front of the catcher's plain one.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	require.NoError(t, err)
	defer ln.Close()
	go proxy(ln, c.Addr())

	s, err := mail.New("smtps://"+ln.Addr().String(), "countersign@acme.example")
	require.NoError(t, err)
	s.TLS = cliTLS
	require.NoError(t, s.Notify(context.Background(), pending()))
	_, ok := c.Wait(2, 5*time.Second)
	assert.True(t, ok)

	t.Run("an untrusted certificate is refused", func(t *testing.T) {
		s, err := mail.New("smtps://"+ln.Addr().String(), "countersign@acme.example")
		require.NoError(t, err)
		assert.ErrorContains(t, s.Notify(context.Background(), pending()), "TLS with the SMTP server")
	})
}

func TestSender_Refusals(t *testing.T) {
	c, cliTLS := tlsCatcher(t)
	t.Run("a wrong password is refused with the server's answer", func(t *testing.T) {
		s, err := mail.New("smtp://countersign:wrong-pass-123@"+c.Addr(), "countersign@acme.example")
		require.NoError(t, err)
		s.TLS = cliTLS
		err = s.Notify(context.Background(), pending())
		require.ErrorContains(t, err, "invalid credentials")
	})
	t.Run("a wrong password is not shown, even when the server repeats it", func(t *testing.T) {
		srvTLS, cliTLS, err := catcher.SelfSigned()
		require.NoError(t, err)
		echo, err := catcher.Listen("127.0.0.1:0", catcher.Options{TLS: srvTLS, Users: map[string]string{"countersign": "s3cret-pass"},
			RefuseAuth: func(user, password string) error {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "no such user " + user + " with " + password}
			}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = echo.Close() })
		s, err := mail.New("smtp://countersign:wrong-pass-123@"+echo.Addr(), "countersign@acme.example")
		require.NoError(t, err)
		s.TLS = cliTLS
		err = s.Notify(context.Background(), pending())
		require.ErrorContains(t, err, "no such user countersign with ***")
		assert.NotContains(t, err.Error(), "wrong-pass-123")
		assert.ErrorIs(t, err, notify.ErrPermanent, "a 5xx answer")
	})
	t.Run("a down server is transient", func(t *testing.T) {
		s, err := mail.New("smtp://127.0.0.1:1", "countersign@acme.example")
		require.NoError(t, err)
		err = s.Notify(context.Background(), pending())
		require.Error(t, err)
		assert.False(t, errors.Is(err, notify.ErrPermanent))
	})
}

func TestNew(t *testing.T) {
	for _, tc := range []struct{ url, from, err string }{
		{"smtp://mail.example", "countersign@acme.example", ""},
		{"smtps://u:p@mail.example:2465", "Countersign <countersign@acme.example>", ""},
		{"http://u:top-secret@mail.example", "a@b.example", "must be an smtp:// or smtps:// URL"},
		{"smtp://u:top-secret@mail.example/path", "a@b.example", "nothing after the host"},
		{"smtp://u:top-secret@mail.example?x=1", "a@b.example", "nothing after the host"},
		{"smtp://u:top-secret@mail.example", "not an address", "SMTP_FROM must be an e-mail address"},
		{"smtp://u:top-secret@mail.example", "a@b.example\r\nBcc: c@d.example", "SMTP_FROM must be an e-mail address"},
		{"://u:top-secret@", "a@b.example", "must be an smtp:// or smtps:// URL"},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.url, tc.from), func(t *testing.T) {
			_, err := mail.New(tc.url, tc.from)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
			assert.NotContains(t, err.Error(), "top-secret")
		})
	}
}

// One recipient's failure does not cost the others their mail, and says
// who was served, so that a retry mails only the rest: a refusal for good
// counts as served; a temporary one is left to the retry.
func TestSender_NotifyRecipients_PartialFailure(t *testing.T) {
	var mu sync.Mutex
	answer := map[string]error{
		"bob@acme.example": &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"},
	}
	c, err := catcher.Listen("127.0.0.1:0", catcher.Options{Refuse: func(to string) error {
		mu.Lock()
		defer mu.Unlock()
		return answer[to]
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := mail.New("smtp://"+c.Addr(), "countersign@acme.example")
	require.NoError(t, err)

	served, err := s.NotifyRecipients(context.Background(), pending())
	require.Error(t, err)
	assert.False(t, errors.Is(err, notify.ErrPermanent), "bob may get it on a retry")
	assert.Contains(t, err.Error(), "to bob")
	assert.Equal(t, []string{"carol"}, served, "carol after bob's failure")
	_, ok := c.Wait(1, 5*time.Second)
	require.True(t, ok)

	mu.Lock()
	answer["bob@acme.example"] = nil
	answer["carol@acme.example"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	mu.Unlock()
	served, err = s.NotifyRecipients(context.Background(), pending())
	assert.ErrorIs(t, err, notify.ErrPermanent, "nobody left to retry")
	assert.Equal(t, []string{"bob", "carol"}, served, "carol refused for good counts as served")

	mu.Lock()
	answer["bob@acme.example"] = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	mu.Unlock()
	_, err = s.NotifyRecipients(context.Background(), pending())
	assert.False(t, errors.Is(err, notify.ErrPermanent), "bob is still to retry, whatever carol's refusal")
	assert.Contains(t, err.Error(), "refused for good")
}
