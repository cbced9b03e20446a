package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

func TestDecisionSign(t *testing.T) {
	key := proof.NewUserKey()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	env := func(k string) string {
		if k == decisionKeyEnv {
			return key.Private
		}
		return ""
	}
	var out bytes.Buffer
	require.NoError(t, runDecision([]string{"sign", "--request", "42", "--action", "reject", "--user", "bob", "--reason", "not now"}, &out, now, env))
	var in workflows.RejectInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &in), out.String())
	assert.Equal(t, "bob", in.User)
	assert.Equal(t, "not now", in.Reason)
	require.NotNil(t, in.Proof)
	assert.Equal(t, now.Unix(), in.Proof.IssuedAt)
	require.NoError(t, proof.VerifyUser(key.Public, in.Decision(42).Claims(), *in.Proof), "the printed input verifies")
	assert.NotContains(t, out.String(), key.Private[len(key.Private)-20:], "the key is not printed")

	file := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(file, []byte(key.Private+"\n"), 0o600))
	out.Reset()
	require.NoError(t, runDecision([]string{"sign", "--request", "7", "--action", "comment", "--user", "bob", "--text", "hi", "--key-file", file}, &out, now,
		func(string) string { return "" }))
	var c workflows.CommentInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &c))
	require.NoError(t, proof.VerifyUser(key.Public, c.Decision(7).Claims(), *c.Proof))

	out.Reset()
	require.NoError(t, runDecision([]string{"sign", "--request", "43", "--action", "request_changes", "--user", "bob", "--reason", "2 CPUs, not 16"},
		&out, now, env))
	var rc workflows.RequestChangesInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &rc), out.String())
	assert.Equal(t, "2 CPUs, not 16", rc.Reason)
	require.NotNil(t, rc.Proof)
	require.NoError(t, proof.VerifyUser(key.Public, rc.Decision(43).Claims(), *rc.Proof), "the printed input verifies")
	assert.ErrorContains(t, runDecision([]string{"sign", "--request", "43", "--action", "request_changes", "--user", "bob", "--text", "x"}, &out, now, env),
		"--text does not go with request_changes; it takes --reason")

	out.Reset()
	require.NoError(t, runDecision([]string{"sign", "--request", "9", "--action", "extend", "--user", "bob", "--by", "24h", "--reason", "away"}, &out, now, env))
	var x workflows.ExtendInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &x), out.String())
	assert.Equal(t, 24*time.Hour, x.By.Std())
	require.NoError(t, proof.VerifyUser(key.Public, x.Decision(9).Claims(), *x.Proof), "the duration is part of what the proof vouches for")
	x.By *= 2
	require.Error(t, proof.VerifyUser(key.Public, x.Decision(9).Claims(), *x.Proof), "another duration does not verify")

	out.Reset()
	require.NoError(t, runDecision([]string{"sign", "--request", "9", "--action", "escalate", "--user", "erin", "--team", "3", "--reason", "sre away"}, &out, now, env))
	var esc workflows.EscalateInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &esc), out.String())
	assert.Equal(t, int64(3), esc.ApproverTeam)
	require.NoError(t, proof.VerifyUser(key.Public, esc.Decision(9).Claims(), *esc.Proof))
	esc.ApproverTeam = 4
	require.Error(t, proof.VerifyUser(key.Public, esc.Decision(9).Claims(), *esc.Proof), "another team does not verify")

	for args, want := range map[string][]string{
		"usage":             {},
		"no request":        {"sign", "--action", "approve", "--user", "bob"},
		"bad action":        {"sign", "--request", "1", "--action", "veto", "--user", "bob"},
		"no user":           {"sign", "--request", "1", "--action", "approve"},
		"wrong text":        {"sign", "--request", "1", "--action", "approve", "--user", "bob", "--reason", "x"},
		"by not extend":     {"sign", "--request", "1", "--action", "approve", "--user", "bob", "--by", "1h"},
		"extend no by":      {"sign", "--request", "1", "--action", "extend", "--user", "bob"},
		"team not escalate": {"sign", "--request", "1", "--action", "approve", "--user", "bob", "--team", "3"},
		"escalate no team":  {"sign", "--request", "1", "--action", "escalate", "--user", "erin"},
		"no key":            {"sign", "--request", "1", "--action", "approve", "--user", "bob", "--key-file", filepath.Join(t.TempDir(), "none")},
		"stray":             {"sign", "--request", "1", "--action", "approve", "--user", "bob", "extra"},
		"key required":      {"sign", "--request", "1", "--action", "approve", "--user", "bob"},
	} {
		lookup := env
		if args == "key required" {
			lookup = func(string) string { return "" }
		}
		err := runDecision(want, &out, now, lookup)
		assert.Error(t, err, args)
	}
	err := runDecision([]string{"sign", "--request", "1", "--action", "approve", "--user", "bob", "--reason", "x"}, &out, now, env)
	assert.ErrorContains(t, err, "--reason does not go with approve; it takes --comment")
	err = runDecision([]string{"sign", "--request", "1", "--action", "approve", "--user", "bob"}, &out, now, func(string) string { return "" })
	assert.ErrorContains(t, err, "COUNTERSIGN_DECISION_KEY")
}

func TestKeysGenerate(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	require.NoError(t, runKeys([]string{"generate"}, &out, now))
	r, err := codec.ParseKeys(out.String())
	require.NoError(t, err, "what it prints is what PAYLOAD_KEYS takes")
	assert.Equal(t, "k20261203", r.Current())

	file := filepath.Join(t.TempDir(), "payload.keys")
	require.NoError(t, runKeys([]string{"generate", "--file", file}, &out, now))
	_, err = codec.LoadKeyFile(file)
	require.NoError(t, err)
	assert.Error(t, runKeys([]string{"generate", "--id", "x", "--file", file}, &out, now))
	assert.Error(t, runKeys(nil, &out, now))
}
