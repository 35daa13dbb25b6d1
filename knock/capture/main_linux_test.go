package capture

import (
	"os"
	"testing"
)

// TestMain lets the test binary double as the SYN generator of the flood
// benchmark, run as a separate process so that its CPU time is not
// counted as the capture's.
func TestMain(m *testing.M) {
	if spec := os.Getenv(floodEnv); spec != "" {
		os.Exit(floodMain(spec))
	}
	os.Exit(m.Run())
}
