package schema_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/schema"
)

func TestSchema_Files(t *testing.T) {
	files, err := fs.Glob(schema.FS, "*")
	require.NoError(t, err)
	name := regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.(up|down)\.sql$`)
	// Each file runs inside the runner's transaction. A function's body
	// (between $$) is PL/pgSQL, whose BEGIN and END are a block's.
	forbidden := regexp.MustCompile(`(?i)\b(BEGIN|COMMIT|ROLLBACK|CONCURRENTLY)\b`)
	functionBody := regexp.MustCompile(`(?s)\$\$.*?\$\$`)

	ups := map[string]bool{}
	downs := map[string]bool{}
	for _, f := range files {
		require.Regexp(t, name, f)
		body, err := fs.ReadFile(schema.FS, f)
		require.NoError(t, err)
		assert.NotEmpty(t, strings.TrimSpace(string(body)), f)
		assert.NotRegexp(t, forbidden, functionBody.ReplaceAllString(string(body), "$$$$"), f)
		if base, ok := strings.CutSuffix(f, ".up.sql"); ok {
			ups[base] = true
		} else {
			downs[strings.TrimSuffix(f, ".down.sql")] = true
		}
	}
	require.NotEmpty(t, ups)
	assert.Equal(t, ups, downs, "every up has a down and every down an up")
}
