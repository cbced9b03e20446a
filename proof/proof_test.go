package proof_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/proof"
)

var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func serviceKeys(t *testing.T) *proof.ServiceKeys {
	t.Helper()
	k, err := proof.NewServiceKeys("new", map[string][]byte{"new": bytes.Repeat([]byte{1}, 32), "old": bytes.Repeat([]byte{2}, 32)})
	require.NoError(t, err)
	return k
}

var claims = proof.Claims{RequestID: 42, Action: "approve", User: "bob", Text: "looks fine"}

func TestServiceKeys_SignVerify(t *testing.T) {
	k := serviceKeys(t)
	p := k.Sign(claims, proof.ChannelPortal, now)
	assert.Equal(t, "api:new", p.Key)
	assert.True(t, p.Service())
	require.NoError(t, k.Verify(claims, p))

	changed := map[string]proof.Claims{
		"request":      {RequestID: 43, Action: "approve", User: "bob", Text: "looks fine"},
		"action":       {RequestID: 42, Action: "reject", User: "bob", Text: "looks fine"},
		"user":         {RequestID: 42, Action: "approve", User: "admin", Text: "looks fine"},
		"text":         {RequestID: 42, Action: "approve", User: "bob", Text: "looks fine!"},
		"pending only": {RequestID: 42, Action: "approve", User: "bob", Text: "looks fine", PendingOnly: true},
		"context":      {RequestID: 42, Action: "approve", User: "bob", Text: "looks fine", Context: "roster:abc"},
	}
	for name, c := range changed {
		assert.ErrorIs(t, k.Verify(c, p), proof.ErrInvalid, name)
	}
	for name, mutate := range map[string]func(*proof.Proof){
		"issued at": func(p *proof.Proof) { p.IssuedAt++ },
		"channel":   func(p *proof.Proof) { p.Channel = proof.ChannelAPI },
		"key":       func(p *proof.Proof) { p.Key = "api:old" },
		"unknown":   func(p *proof.Proof) { p.Key = "api:nope" },
		"signature": func(p *proof.Proof) { p.Signature = p.Signature[:len(p.Signature)-2] + "AA" },
	} {
		q := p
		mutate(&q)
		assert.ErrorIs(t, k.Verify(claims, q), proof.ErrInvalid, name)
	}
}

// The API's channels verify; another name is refused.
func TestServiceKeys_Channels(t *testing.T) {
	k := serviceKeys(t)
	for _, ch := range []string{proof.ChannelAPI, proof.ChannelPortal, proof.ChannelSlack, proof.ChannelEmail} {
		assert.NoError(t, k.Verify(claims, k.Sign(claims, ch, now)), ch)
	}
	for _, ch := range []string{proof.ChannelCLI, "", "fax"} {
		assert.ErrorIs(t, k.Verify(claims, k.Sign(claims, ch, now)), proof.ErrInvalid, ch)
	}
}

func TestServiceKeys_RotationAndStrangers(t *testing.T) {
	older, err := proof.NewServiceKeys("old", map[string][]byte{"old": bytes.Repeat([]byte{2}, 32)})
	require.NoError(t, err)
	p := older.Sign(claims, proof.ChannelAPI, now)
	require.NoError(t, serviceKeys(t).Verify(claims, p), "a proof of the previous key still verifies")

	stranger, err := proof.NewServiceKeys("new", map[string][]byte{"new": bytes.Repeat([]byte{9}, 32)})
	require.NoError(t, err)
	assert.ErrorIs(t, serviceKeys(t).Verify(claims, stranger.Sign(claims, proof.ChannelAPI, now)), proof.ErrInvalid,
		"the same key id with another secret")

	_, err = proof.NewServiceKeys("missing", map[string][]byte{"new": bytes.Repeat([]byte{1}, 32)})
	assert.Error(t, err)
}

func TestUserKey_SignVerify(t *testing.T) {
	k := proof.NewUserKey()
	assert.True(t, proof.ValidUserKeyID(k.ID))
	assert.Regexp(t, `^csdk_dk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$`, k.Private)

	p, err := proof.SignUser(k.Private, claims, now)
	require.NoError(t, err)
	assert.Equal(t, k.ID, p.Key)
	assert.Equal(t, proof.ChannelCLI, p.Channel)
	assert.False(t, p.Service())
	require.NoError(t, proof.VerifyUser(k.Public, claims, p))
	assert.NotContains(t, p.Signature, k.Private[len(k.Private)-20:], "the proof does not carry the key")

	other := claims
	other.User = "admin"
	assert.ErrorIs(t, proof.VerifyUser(k.Public, other, p), proof.ErrInvalid)
	assert.ErrorIs(t, proof.VerifyUser(proof.NewUserKey().Public, claims, p), proof.ErrInvalid, "another user's key")

	claimed := p
	claimed.Channel = proof.ChannelPortal
	assert.ErrorIs(t, proof.VerifyUser(k.Public, claims, claimed), proof.ErrInvalid, "a user key cannot claim the portal")

	for _, bad := range []string{"", "csdk_dk_123.abc", "cs_token", k.Private[:len(k.Private)-4], "csdk_" + k.ID} {
		_, err := proof.SignUser(bad, claims, now)
		assert.ErrorIs(t, err, proof.ErrMalformedKey, bad)
	}
}

func TestProof_Fresh(t *testing.T) {
	svc := proof.Proof{Key: "api:k", IssuedAt: now.Unix()}
	usr := proof.Proof{Key: "dk_0123456789abcdef", IssuedAt: now.Unix()}
	for _, tc := range []struct {
		name  string
		p     proof.Proof
		at    time.Time
		fresh bool
	}{
		{"service, at once", svc, now.Add(time.Second), true},
		{"service, at its age limit", svc, now.Add(proof.ServiceMaxAge), true},
		{"service, later", svc, now.Add(proof.ServiceMaxAge + time.Second), false},
		{"user, within the hour", usr, now.Add(59 * time.Minute), true},
		{"user, older", usr, now.Add(proof.UserMaxAge + time.Second), false},
		{"within the clock skew", usr, now.Add(-proof.MaxClockSkew), true},
		{"from the future", usr, now.Add(-proof.MaxClockSkew - time.Second), false},
	} {
		assert.Equal(t, tc.fresh, tc.p.Fresh(tc.at), tc.name)
	}
}

func TestParseMode(t *testing.T) {
	m, err := proof.ParseMode("", proof.ModeVerified)
	require.NoError(t, err)
	assert.Equal(t, proof.ModeVerified, m)
	m, err = proof.ParseMode("trusted", proof.ModeVerified)
	require.NoError(t, err)
	assert.Equal(t, proof.ModeTrusted, m)
	_, err = proof.ParseMode("yes", proof.ModeVerified)
	assert.ErrorContains(t, err, "use verified, trusted or off")
}
