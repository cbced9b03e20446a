package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse_Defaults(t *testing.T) {
	cfg, err := parse([]string{"--item", "3", "--token-requester", "a", "--token-approver", "b"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080", cfg.url)
	assert.Equal(t, []string{"submit", "approve", "inbox"}, cfg.scenarios)
	assert.Equal(t, 20*time.Second, cfg.duration)
	assert.Equal(t, 8, cfg.concurrency)
	assert.Equal(t, []string{"a"}, cfg.requesters)
	assert.Equal(t, []string{"b"}, cfg.approvers)
	assert.Nil(t, cfg.body, "the default submission is the scenario package's")
}

func TestParse_TokensFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(path, []byte("# who acts\nrequester r1\n\nrequester r2\napprover  a1\n"), 0o600))
	cfg, err := parse([]string{"--tokens", path, "--token-approver", "a0", "--scenarios", "inbox, approve", "--item", "4"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"r1", "r2"}, cfg.requesters)
	assert.Equal(t, []string{"a0", "a1"}, cfg.approvers)
	assert.Equal(t, []string{"inbox", "approve"}, cfg.scenarios)

	require.NoError(t, os.WriteFile(path, []byte("owner x\n"), 0o600))
	_, err = parse([]string{"--tokens", path}, io.Discard)
	assert.ErrorContains(t, err, `:1: unknown role "owner"`)
}

func TestParse_Refusals(t *testing.T) {
	for want, args := range map[string][]string{
		"scenario submit needs --item":       {"--token-requester", "a", "--scenarios", "submit"},
		"scenario approve needs an approver": {"--token-requester", "a", "--item", "1", "--scenarios", "approve"},
		"scenario inbox needs an approver":   {"--scenarios", "inbox"},
		`unknown scenario "list"`:            {"--scenarios", "list"},
		"must be positive":                   {"--token-approver", "b", "--scenarios", "inbox", "--concurrency", "0"},
		"unexpected arguments":               {"--token-approver", "b", "--scenarios", "inbox", "extra"},
	} {
		_, err := parse(args, io.Discard)
		assert.ErrorContains(t, err, want, "%v", args)
	}
}
