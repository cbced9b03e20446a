package store

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/schema"
)

func TestStore_LoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

	t.Run("the embedded schema is well formed", func(t *testing.T) {
		migs, err := loadMigrations(schema.FS)
		require.NoError(t, err)
		require.NotEmpty(t, migs)
		for i, m := range migs {
			assert.Equal(t, int64(i+1), m.version, "versions are consecutive from 1")
			assert.NotEmpty(t, m.up)
			assert.NotEmpty(t, m.down)
		}
	})

	t.Run("ordered by version number", func(t *testing.T) {
		migs, err := loadMigrations(fstest.MapFS{
			"10_b.up.sql": file("b"), "10_b.down.sql": file("-b"),
			"9_a.up.sql": file("a"), "9_a.down.sql": file("-a"),
		})
		require.NoError(t, err)
		require.Len(t, migs, 2)
		assert.Equal(t, "9_a", migs[0].name)
		assert.Equal(t, "10_b", migs[1].name)
		assert.Equal(t, "-b", migs[1].down)
	})

	for name, fsys := range map[string]fstest.MapFS{
		"missing down":      {"0001_a.up.sql": file("a")},
		"missing up":        {"0001_a.down.sql": file("a")},
		"empty down":        {"0001_a.up.sql": file("a"), "0001_a.down.sql": file("")},
		"two titles":        {"0001_a.up.sql": file("a"), "0001_b.down.sql": file("b")},
		"badly named file":  {"0001_a.up.sql": file("a"), "0001_a.down.sql": file("a"), "0002-b.up.sql": file("b")},
		"upper-case suffix": {"0001_a.UP.sql": file("a")},
		"version zero":      {"0000_a.up.sql": file("a"), "0000_a.down.sql": file("a")},
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			_, err := loadMigrations(fsys)
			assert.Error(t, err)
		})
	}
}
