package worker_test

import (
	"os"
	"testing"

	"github.com/countersign/countersign/internal/testkit"
)

// temporalAddr is the dev server every test of the package shares.
var temporalAddr string

func TestMain(m *testing.M) { os.Exit(testkit.Main(m, "worker tests", &temporalAddr)) }
