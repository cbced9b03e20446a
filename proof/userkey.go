package proof

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// User decision keys are written "csdk_<key id>.<base64url seed>"; the key
// id ("dk_" and 16 hex digits) names the public half the API keeps.
const (
	UserKeyPrefix    = "dk_"
	privateKeyPrefix = "csdk_"
)

var userKeyIDPattern = regexp.MustCompile(`^dk_[0-9a-f]{16}$`)

// ValidUserKeyID reports whether id looks like a user key id, so that
// lookups of garbage never reach the database.
func ValidUserKeyID(id string) bool { return userKeyIDPattern.MatchString(id) }

// UserKey is a freshly issued decision key: Private is shown to its owner
// once and never stored; Public is what verifies their proofs.
type UserKey struct {
	ID      string
	Private string
	Public  ed25519.PublicKey
}

// NewUserKey makes a new decision key.
func NewUserKey() UserKey {
	var idBytes [8]byte
	_, _ = rand.Read(idBytes[:]) // crypto/rand never fails
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	id := UserKeyPrefix + hex.EncodeToString(idBytes[:])
	return UserKey{ID: id, Private: privateKeyPrefix + id + "." + base64.RawURLEncoding.EncodeToString(priv.Seed()), Public: pub}
}

// ErrMalformedKey is a private key text that is not one NewUserKey made.
var ErrMalformedKey = errors.New(`a decision key looks like "csdk_dk_<16 hex digits>.<key>", as the API issued it`)

// SignUser makes the CLI proof of c with a private decision key at now.
func SignUser(private string, c Claims, now time.Time) (Proof, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(private), privateKeyPrefix)
	id, seed64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !ValidUserKeyID(id) {
		return Proof{}, ErrMalformedKey
	}
	seed, err := base64.RawURLEncoding.DecodeString(seed64)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Proof{}, ErrMalformedKey
	}
	p := Proof{Key: id, IssuedAt: now.Unix(), Channel: ChannelCLI}
	p.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed), c.message(p)))
	return p, nil
}

// VerifyUser checks that p is a proof of c made with the private half of
// pub. Whether the key belongs to c.User, is revoked or expired, and
// whether p is fresh, is the caller's.
func VerifyUser(pub ed25519.PublicKey, c Claims, p Proof) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("proof: public key of %d bytes", len(pub))
	}
	if p.Channel != ChannelCLI {
		return fmt.Errorf("%w (a decision key signs for the cli channel only)", ErrInvalid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(p.Signature)
	if err != nil || !ed25519.Verify(pub, c.message(p), sig) {
		return ErrInvalid
	}
	return nil
}
