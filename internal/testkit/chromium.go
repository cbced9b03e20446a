package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium finds Debian's chromium for the browser tests; its absence
// fails the test with what to install.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("the browser tests need Chromium: install Debian's package with `apt-get install -y chromium` (.ci/run does)")
	return ""
}
