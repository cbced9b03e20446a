package testkit

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// EnvRecordHistories, set to 1, makes RecordHistory write the histories the
// replay test checks (workflows/testdata/replay/NAME.json).
const EnvRecordHistories = "RECORD_REPLAY_HISTORIES"

// RecordHistory checks that the current code replays h and, when
// EnvRecordHistories is set, saves h as a replay fixture named name, unless
// that fixture exists: a recorded history stands for requests that ran
// with the code of its day, so it is never replaced (a new path gets a new
// name).
func RecordHistory(t testing.TB, h *historypb.History, name string) {
	t.Helper()
	require.NoError(t, Replay(h), "the workflow code does not replay its own history")
	if os.Getenv(EnvRecordHistories) != "1" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	path := filepath.Join(ReplayDir(), name+".json")
	if _, err := os.Stat(path); err == nil {
		t.Logf("kept %s: recorded histories are never replaced", path)
		return
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	t.Logf("recorded %s (%d events)", path, len(h.Events))
}

// ReplayDir is where recorded histories live.
func ReplayDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "workflows", "testdata", "replay")
}
