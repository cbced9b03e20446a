package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a webhook delivery's signature:
//
//	X-Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC, keyed with the webhook secret (NOTIFY_WEBHOOK_SECRET), is
// of "<t>.<raw body>": the scheme Stripe and others use. Signing the time
// lets a receiver refuse a delivery replayed later. Each attempt is signed
// afresh; X-Countersign-Delivery identifies a notification across attempts.
const SignatureHeader = "X-Countersign-Signature"

// DefaultTolerance is how far from the receiver's clock Verify accepts a
// signature's time by default: a retried delivery is signed again, so only
// clock skew and transit need room.
const DefaultTolerance = 5 * time.Minute

// maxSignatureHeader bounds what Verify parses: the header comes from
// whoever can reach the receiver.
const maxSignatureHeader = 1024

var (
	// ErrBadSignature: the header is missing or malformed, or no v1
	// signature in it matches the body and the secret.
	ErrBadSignature = errors.New("webhook signature does not match")
	// ErrSignatureExpired: the signature matches but its time is further
	// from now than the tolerance (a replay, or a clock far off).
	ErrSignatureExpired = errors.New("webhook signature time is outside the tolerance")
)

// Sign returns the SignatureHeader value for body, sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery as a receiver should: header is the
// SignatureHeader's value and body the raw request body, byte for byte.
// It returns nil when one of the header's v1 signatures (there may be
// several while a secret is rotated) is the HMAC of its t and body under
// secret, compared in constant time, and t is within tolerance of now (0:
// DefaultTolerance); ErrBadSignature or ErrSignatureExpired otherwise. A
// receiver should also drop deliveries whose X-Countersign-Delivery it has
// already seen.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 || len(header) > maxSignatureHeader {
		return ErrBadSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return ErrBadSignature
		case key == "t" && ts == "":
			ts = value
		case key == "v1":
			if sig, err := hex.DecodeString(value); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}
