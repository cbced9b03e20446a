// Package codec keeps Countersign's secrets out of Temporal: it encrypts
// every payload a Temporal client writes (workflow inputs, activity inputs
// and results, signals, updates, queries, summaries) with AES-256-GCM under
// a ring of keys, and decrypts what it reads back.
//
// The first key of a Ring encrypts; every key decrypts, so a key is rotated
// by putting a new one first and keeping the old ones listed until no
// history needs them. A payload carries the id of its key in its metadata.
// Payloads the codec did not encrypt (a stock `temporal` CLI's signal, the
// histories recorded before encryption) decode unchanged, and values
// wrapped in Plain (the memo) are never encrypted.
//
// Keys are configured as "<id>:<base64 of 32 bytes>" entries, newest first,
// in PAYLOAD_KEYS (comma separated) or in a key file (one per line, '#'
// comments), which must not be readable by group or others.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// KeySize is the size of a payload key: AES-256.
const KeySize = 32

// keyIDPattern keeps key ids short and printable: they travel in every
// payload's metadata.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Ring is an ordered set of payload keys; the first one encrypts. It is
// safe for concurrent use.
type Ring struct {
	ids   []string
	keys  map[string][]byte
	aeads map[string]cipher.AEAD
}

// NewRing builds a ring from id → key entries in order, newest first.
func NewRing(entries ...Entry) (*Ring, error) {
	if len(entries) == 0 {
		return nil, errors.New("no payload key given")
	}
	r := &Ring{keys: map[string][]byte{}, aeads: map[string]cipher.AEAD{}}
	for _, e := range entries {
		if !keyIDPattern.MatchString(e.ID) {
			return nil, fmt.Errorf("payload key id %q: use 1 to 64 letters, digits, '.', '_' or '-'", e.ID)
		}
		if len(e.Key) != KeySize {
			return nil, fmt.Errorf("payload key %q: must be %d bytes, not %d", e.ID, KeySize, len(e.Key))
		}
		if _, dup := r.keys[e.ID]; dup {
			return nil, fmt.Errorf("payload key id %q is listed twice", e.ID)
		}
		block, err := aes.NewCipher(e.Key)
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", e.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", e.ID, err)
		}
		r.ids = append(r.ids, e.ID)
		r.keys[e.ID] = append([]byte(nil), e.Key...)
		r.aeads[e.ID] = aead
	}
	return r, nil
}

// Entry is one key of a ring.
type Entry struct {
	ID  string
	Key []byte
}

// Current is the id of the key that encrypts.
func (r *Ring) Current() string { return r.ids[0] }

// IDs lists the ring's key ids, newest first.
func (r *Ring) IDs() []string { return append([]string(nil), r.ids...) }

// Derive returns, for every key of the ring, a key for another purpose
// (HKDF-SHA256 with purpose as its info), by the same ids. Other secrets
// (the API's decision signatures) thereby rotate with the payload keys
// without being the payload keys.
func (r *Ring) Derive(purpose string) map[string][]byte {
	out := make(map[string][]byte, len(r.ids))
	for _, id := range r.ids {
		k, err := hkdf.Key(sha256.New, r.keys[id], nil, purpose, KeySize)
		if err != nil {
			panic("codec: HKDF cannot fail for these sizes: " + err.Error())
		}
		out[id] = k
	}
	return out
}

// ParseKeys reads keys written as "<id>:<base64 key>" separated by commas
// or newlines, newest first; blank entries and lines starting with '#' are
// ignored. Errors name the entry's id, never the key.
func ParseKeys(text string) (*Ring, error) {
	var fields []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			fields = append(fields, strings.Split(line, ",")...)
		}
	}
	var entries []Entry
	for _, field := range fields {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		id, b64, ok := strings.Cut(field, ":")
		if !ok {
			return nil, errors.New(`a payload key must be written "<id>:<base64 of 32 bytes>"`)
		}
		key, err := decodeKey(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("payload key %q: not valid base64", strings.TrimSpace(id))
		}
		entries = append(entries, Entry{ID: strings.TrimSpace(id), Key: key})
	}
	return NewRing(entries...)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// LoadKeyFile reads a key file (the format of ParseKeys, one key a line).
// A file that group or others may read is refused, as ssh refuses such a
// private key: anyone who can read it can read every request's answers.
func LoadKeyFile(path string) (*Ring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("payload key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("payload key file %s is readable by others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("payload key file: %w", err)
	}
	r, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("payload key file %s: %w", path, err)
	}
	return r, nil
}

// GenerateEntry makes a new random key named id, or "k" and today's date
// when id is empty, written as ParseKeys reads it.
func GenerateEntry(id string, now time.Time) (string, error) {
	if id == "" {
		id = "k" + now.UTC().Format("20060102")
	}
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("payload key id %q: use 1 to 64 letters, digits, '.', '_' or '-'", id)
	}
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand never fails
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// WriteKeyFile creates a key file with one new key, readable by its owner
// only, unless the file exists already.
func WriteKeyFile(path string, now time.Time) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payload key file: %w", err)
	}
	line, err := GenerateEntry("", now)
	if err == nil {
		_, err = fmt.Fprintf(f, "# Countersign payload keys, newest first: <id>:<base64 key>\n%s\n", line)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
