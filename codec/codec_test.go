package codec_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/countersign/countersign/codec"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, codec.KeySize) }

func ring(t *testing.T, entries ...codec.Entry) *codec.Ring {
	t.Helper()
	r, err := codec.NewRing(entries...)
	require.NoError(t, err)
	return r
}

type answers struct {
	User     string         `json:"user"`
	Password string         `json:"db_password"`
	Vars     map[string]any `json:"extra_vars"`
}

func TestDataConverter_EncryptsAndDecrypts(t *testing.T) {
	dc := codec.DataConverter(ring(t, codec.Entry{ID: "k1", Key: key(1)}))
	in := answers{User: "alice", Password: "hunter2hunter2", Vars: map[string]any{"ttl_days": 3.0}}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	assert.Equal(t, "binary/encrypted", string(p.Metadata["encoding"]))
	assert.Equal(t, "k1", string(p.Metadata["encryption-key-id"]))
	assert.NotContains(t, string(p.Data), "hunter2")
	assert.NotContains(t, string(p.Data), "alice")
	assert.NotContains(t, string(p.Data), "json/plain", "the original encoding is inside the ciphertext")

	var out answers
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, in, out)
}

func TestDataConverter_PlainPayloadsStillDecode(t *testing.T) {
	// A stock `temporal` CLI signal: plain JSON, no codec.
	dc := codec.DataConverter(ring(t, codec.Entry{ID: "k1", Key: key(1)}))
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"user": "carol"})
	require.NoError(t, err)
	var out map[string]string
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, "carol", out["user"])
}

func TestDataConverter_PlainValuesStayReadable(t *testing.T) {
	dc := codec.DataConverter(ring(t, codec.Entry{ID: "k1", Key: key(1)}))
	p, err := dc.ToPayload(codec.Plain{Value: "submission-token"})
	require.NoError(t, err)
	assert.Equal(t, "json/plain", string(p.Metadata["encoding"]))
	assert.Equal(t, `"submission-token"`, string(p.Data))

	ps, err := dc.ToPayloads(codec.Plain{Value: "memo"}, answers{Password: "s3cret-value"})
	require.NoError(t, err)
	require.Len(t, ps.Payloads, 2)
	assert.Equal(t, "json/plain", string(ps.Payloads[0].Metadata["encoding"]))
	assert.True(t, codec.Encrypted(ps.Payloads[1]))
	assert.NotContains(t, string(ps.Payloads[1].Data), "s3cret")
}

func TestRing_Rotation(t *testing.T) {
	old := ring(t, codec.Entry{ID: "2025", Key: key(1)})
	rotated := ring(t, codec.Entry{ID: "2026", Key: key(2)}, codec.Entry{ID: "2025", Key: key(1)})
	onlyNew := ring(t, codec.Entry{ID: "2026", Key: key(2)})

	before, err := old.Encode([]*commonpb.Payload{{Data: []byte("written last year")}})
	require.NoError(t, err)
	after, err := rotated.Encode([]*commonpb.Payload{{Data: []byte("written today")}})
	require.NoError(t, err)
	assert.Equal(t, "2026", string(after[0].Metadata[codec.MetadataKeyID]), "new payloads use the newest key")

	got, err := rotated.Decode(append(before, after...))
	require.NoError(t, err)
	assert.Equal(t, "written last year", string(got[0].Data), "old payloads stay readable")
	assert.Equal(t, "written today", string(got[1].Data))

	_, err = onlyNew.Decode(before)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "2025"`)
	assert.Contains(t, err.Error(), "not configured")
}

func TestRing_RefusesTampering(t *testing.T) {
	r := ring(t, codec.Entry{ID: "a", Key: key(1)}, codec.Entry{ID: "b", Key: key(2)})
	enc, err := r.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	require.NoError(t, err)

	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	_, err = r.Decode([]*commonpb.Payload{flipped})
	assert.ErrorContains(t, err, "does not decrypt")

	relabeled := &commonpb.Payload{Metadata: map[string][]byte{
		codec.MetadataEncoding: []byte(codec.EncodingEncrypted), codec.MetadataKeyID: []byte("b"),
	}, Data: enc[0].Data}
	_, err = r.Decode([]*commonpb.Payload{relabeled})
	assert.ErrorContains(t, err, "does not decrypt", "the key id is bound to the ciphertext")

	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: []byte("tiny")}
	_, err = r.Decode([]*commonpb.Payload{short})
	assert.ErrorContains(t, err, "too short")
}

func TestRing_EncodeIsIdempotentAndRandomized(t *testing.T) {
	r := ring(t, codec.Entry{ID: "a", Key: key(1)})
	one, err := r.Encode([]*commonpb.Payload{{Data: []byte("same")}, {Data: []byte("same")}})
	require.NoError(t, err)
	assert.NotEqual(t, one[0].Data, one[1].Data, "a fresh nonce per payload")
	again, err := r.Encode(one)
	require.NoError(t, err)
	assert.Equal(t, one, again, "already encrypted payloads are not encrypted twice")
}

func TestParseKeys(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(key(1))
	k2 := base64.RawURLEncoding.EncodeToString(key(2))
	r, err := codec.ParseKeys(" new:" + k2 + " ,\n# a comment\nold:" + k1 + "\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"new", "old"}, r.IDs())
	assert.Equal(t, "new", r.Current())

	for name, tc := range map[string]struct{ text, want string }{
		"empty":         {"", "no payload key"},
		"no id":         {k1, `"<id>:<base64 of 32 bytes>"`},
		"short key":     {"a:" + base64.StdEncoding.EncodeToString([]byte("short")), "must be 32 bytes, not 5"},
		"not base64":    {"a:!!!!", `payload key "a": not valid base64`},
		"bad id":        {"a b:" + k1, "use 1 to 64 letters"},
		"duplicate ids": {"a:" + k1 + ",a:" + k2, "listed twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := codec.ParseKeys(tc.text)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), k1, "errors never echo a key")
		})
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "payload.keys")
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	require.NoError(t, codec.WriteKeyFile(path, now))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	r, err := codec.LoadKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, "k20261203", r.Current())

	first, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, codec.WriteKeyFile(path, now.Add(time.Hour)))
	second, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, first, second, "an existing key file is kept")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = codec.LoadKeyFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "readable by others")
}

func TestRing_Derive(t *testing.T) {
	r := ring(t, codec.Entry{ID: "a", Key: key(1)}, codec.Entry{ID: "b", Key: key(2)})
	one, other := r.Derive("decisions"), r.Derive("something else")
	require.Len(t, one, 2)
	assert.NotEqual(t, one["a"], one["b"])
	assert.NotEqual(t, one["a"], other["a"], "each purpose has its own keys")
	assert.NotEqual(t, key(1), one["a"], "a derived key is not the payload key")
	assert.Equal(t, one, r.Derive("decisions"), "derivation is stable")
	assert.False(t, strings.Contains(string(one["a"]), string(key(1))))
}
