package proof

import (
	"fmt"
	"time"
)

// Mode is how workers treat decisions that did not come through the API
// (TEMPORAL_DECISIONS).
type Mode string

// Modes.
const (
	// ModeVerified accepts a decision sent through Temporal only with a
	// valid proof from its user's decision key.
	ModeVerified Mode = "verified"
	// ModeTrusted also accepts decisions without a proof, recorded as
	// unverified: whoever may signal the namespace may act as anyone.
	ModeTrusted Mode = "trusted"
	// ModeOff refuses every decision that did not come through the API.
	ModeOff Mode = "off"
)

// ParseMode reads a Mode; empty is def.
func ParseMode(s string, def Mode) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return def, nil
	case ModeVerified, ModeTrusted, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("TEMPORAL_DECISIONS %q: use verified, trusted or off", s)
}

// How old a proof may be when the workflow judges it, and how far ahead of
// the workflow's clock. The API's proofs are used at once: one that
// arrives later is a decision the API already answered about. A person
// signs, then pastes; a signal sent while workers are down waits for them.
const (
	ServiceMaxAge = 2 * time.Minute
	UserMaxAge    = time.Hour
	MaxClockSkew  = time.Minute
)

// Fresh reports whether p, judged at now, is neither too old nor from the
// future.
func (p *Proof) Fresh(now time.Time) bool {
	maxAge := UserMaxAge
	if p.Service() {
		maxAge = ServiceMaxAge
	}
	issued := p.Issued()
	return !issued.After(now.Add(MaxClockSkew)) && now.Sub(issued) <= maxAge
}
