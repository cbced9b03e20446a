// Package proof tells who sent a decision that reaches a request's
// workflow through Temporal. Anyone who may signal or update workflows in
// the namespace can write any user name into a payload, so a decision
// carries a Proof bound to one request, one action, one user, its text and
// the time it was made:
//
//   - the API signs what it sends for its callers with an HMAC key derived
//     from the payload keys (ServiceKeys), so workers know it came through
//     the API's authentication;
//   - a person deciding from the `temporal` CLI signs with their own
//     decision key, an Ed25519 private key the API issued them once and of
//     which it keeps only the public half (UserKey, VerifyUser).
//
// Nothing secret travels in a proof: it is a signature over its claims.
// Whether a proof is fresh and unused is the workflow's to judge, with its
// own clock and memory; this package only checks signatures.
package proof

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Channels a decision can come through; the API's proofs name theirs, a
// user key's proof is always CLI.
const (
	ChannelAPI    = "api"
	ChannelPortal = "portal"
	ChannelCLI    = "cli"
	// ChannelSlack: the Slack app's buttons and modals, sent by the API.
	ChannelSlack = "slack"
	// ChannelEmail: a decision confirmed from a mail's signed link.
	ChannelEmail = "email"
)

// ServiceKeyPrefix begins the key name of the API's proofs
// ("api:<payload key id>"); user key ids begin with UserKeyPrefix.
const ServiceKeyPrefix = "api:"

// Proof is what a decision carries to show who made it. IssuedAt is in
// Unix seconds.
type Proof struct {
	Key       string `json:"key"`
	IssuedAt  int64  `json:"issued_at"`
	Channel   string `json:"channel,omitempty"`
	Signature string `json:"signature"`
}

// Service reports whether p claims to come from the API.
func (p *Proof) Service() bool { return p != nil && strings.HasPrefix(p.Key, ServiceKeyPrefix) }

// Issued is IssuedAt as a time.
func (p *Proof) Issued() time.Time { return time.Unix(p.IssuedAt, 0).UTC() }

// Claims are what a proof vouches for.
type Claims struct {
	RequestID   int64
	Action      string
	User        string
	Text        string
	PendingOnly bool
	// Context is a digest of whatever else the payload carries that the
	// decision is judged by (the API's reading of who may decide), so that
	// it cannot be swapped under a valid proof.
	Context string
}

// message is the signed text: a JSON array, so no field can bleed into
// another whatever characters a user name or text holds.
func (c Claims) message(p Proof) []byte {
	sum := sha256.Sum256([]byte(c.Text))
	b, _ := json.Marshal([]any{"countersign-decision-v1", c.RequestID, c.Action, c.User,
		hex.EncodeToString(sum[:]), c.PendingOnly, p.Key, p.IssuedAt, p.Channel, c.Context})
	return b
}

// ErrInvalid is a proof that does not match its claims or key.
var ErrInvalid = errors.New("the decision's proof does not match its request, action, user, text or key")

// ServiceKeys sign and verify the API's proofs. The newest key signs;
// all verify, so they rotate with the payload keys they derive from.
type ServiceKeys struct {
	current string
	keys    map[string][]byte
}

// ServicePurpose is the HKDF purpose the API's signing keys are derived
// from the payload keys with (codec.Ring.Derive).
const ServicePurpose = "countersign decision signatures v1"

// NewServiceKeys takes the derived keys by id and the id that signs.
func NewServiceKeys(current string, keys map[string][]byte) (*ServiceKeys, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("proof: no signing key %q", current)
	}
	return &ServiceKeys{current: current, keys: keys}, nil
}

// KeySource is a ring of keys other keys derive from (codec.Ring).
type KeySource interface {
	Current() string
	Derive(purpose string) map[string][]byte
}

// ServiceKeysFrom derives the API's signing keys from the payload keys.
func ServiceKeysFrom(ring KeySource) *ServiceKeys {
	return &ServiceKeys{current: ring.Current(), keys: ring.Derive(ServicePurpose)}
}

// Sign makes the API's proof of c, sent through channel, at now.
func (k *ServiceKeys) Sign(c Claims, channel string, now time.Time) Proof {
	p := Proof{Key: ServiceKeyPrefix + k.current, IssuedAt: now.Unix(), Channel: channel}
	p.Signature = base64.RawURLEncoding.EncodeToString(k.mac(k.keys[k.current], c.message(p)))
	return p
}

// Verify checks that p is the API's proof of c. Freshness is the caller's.
func (k *ServiceKeys) Verify(c Claims, p Proof) error {
	id, ok := strings.CutPrefix(p.Key, ServiceKeyPrefix)
	key, known := k.keys[id]
	if !ok || !known {
		return fmt.Errorf("%w (unknown key %q)", ErrInvalid, truncate(p.Key))
	}
	sig, err := base64.RawURLEncoding.DecodeString(p.Signature)
	if err != nil || !hmac.Equal(sig, k.mac(key, c.message(p))) {
		return ErrInvalid
	}
	if p.Channel != ChannelAPI && p.Channel != ChannelPortal && p.Channel != ChannelSlack && p.Channel != ChannelEmail {
		return fmt.Errorf("%w (channel %q)", ErrInvalid, truncate(p.Channel))
	}
	return nil
}

func (k *ServiceKeys) mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// truncate keeps what an error echoes of a caller's input short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
