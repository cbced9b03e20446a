package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A word after the flags is refused, as by every other command, rather
// than ignored: `keys generate --file` with a space in the path must not
// print a key to the terminal instead.
func TestKeys_StrayArgumentRefused(t *testing.T) {
	var out bytes.Buffer
	err := runKeys([]string{"generate", "--id", "k1", "extra"}, &out, time.Now())
	assert.ErrorContains(t, err, `unexpected argument "extra"`)
	assert.Empty(t, out.String(), "no key printed")
}
