package mail_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/mail"
)

const linkKey = "0123456789abcdef0123456789abcdef"

func TestLinkKey(t *testing.T) {
	k, err := mail.NewLinkKey(linkKey)
	require.NoError(t, err)
	deadline := time.Date(2026, 4, 4, 12, 0, 0, 0, time.UTC)
	link := mail.NewLink("bob", 7, 1, approval.ActionApprove, deadline)
	token := k.Sign(link)
	assert.NotContains(t, token, "=", "URL-safe without padding")

	got, err := k.Verify(token)
	require.NoError(t, err)
	assert.Equal(t, link, got)
	assert.NotEqual(t, link.ID, mail.NewLink("bob", 7, 1, approval.ActionApprove, deadline).ID, "every link has its own id")

	enc, sig, _ := strings.Cut(token, ".")
	claims := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	other, err := mail.NewLinkKey(strings.Repeat("x", 32))
	require.NoError(t, err)
	for name, bad := range map[string]string{
		"empty":                   "",
		"no signature":            enc,
		"signature cut short":     enc + "." + sig[:len(sig)-2],
		"another user":            strings.Replace(token, enc, claims(strings.Replace(decoded(t, enc), `"bob"`, `"mallory"`, 1)), 1),
		"another action":          strings.Replace(token, enc, claims(strings.Replace(decoded(t, enc), `"approve"`, `"reject"`, 1)), 1),
		"another key's":           other.Sign(link),
		"too long":                token + strings.Repeat("A", mail.MaxLinkToken),
		"claims not base64":       "%%%." + sig,
		"signed but no claims":    signWith(t, "{}"),
		"signed but extra fields": signWith(t, `{"id":"a","user":"bob","request":7,"stage":0,"action":"approve","expires":"2026-04-04T12:00:00Z","admin":true}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Verify(bad)
			var ref *approval.Refusal
			require.ErrorAs(t, err, &ref)
			assert.Equal(t, approval.CodeLinkInvalid, ref.Code)
		})
	}

	_, err = mail.NewLinkKey("short")
	assert.ErrorContains(t, err, "at least 32 bytes")
	assert.NotContains(t, err.Error(), "short")
}

func decoded(t *testing.T, enc string) string {
	b, err := base64.RawURLEncoding.DecodeString(enc)
	require.NoError(t, err)
	return string(b)
}

// signWith signs arbitrary claims with the test key, as only a holder of
// the key could.
func signWith(t *testing.T, claims string) string {
	t.Helper()
	return mail.SignRaw(linkKey, claims)
}

func TestLinkKey_Links(t *testing.T) {
	k, err := mail.NewLinkKey(linkKey)
	require.NoError(t, err)
	deadline := time.Date(2026, 4, 4, 12, 0, 0, 0, time.UTC)
	n := pending()
	n.StagePosition, n.Deadline = 1, &deadline
	links, err := k.Links("https://countersign.acme.example/")(n, n.Recipients[0])
	require.NoError(t, err)
	require.NotNil(t, links)
	for action, raw := range map[approval.Action]string{approval.ActionApprove: links.Approve, approval.ActionReject: links.Reject} {
		token, ok := strings.CutPrefix(raw, "https://countersign.acme.example/ui/mail/decide?t=")
		require.True(t, ok, raw)
		got, err := k.Verify(token)
		require.NoError(t, err)
		assert.Equal(t, approval.MailLink{ID: got.ID, User: "bob", RequestID: 7, Stage: 1, Action: action, Expires: deadline}, got)
	}

	n.Deadline = nil
	links, err = k.Links("https://countersign.acme.example")(n, n.Recipients[0])
	require.NoError(t, err)
	assert.Nil(t, links, "no deadline, no link")
}
