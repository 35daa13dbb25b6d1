package fleettest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildNATSServer builds nats-server from the module cache (the version in
// go.mod) into a temporary directory and returns the binary's path. It
// skips the test when the go command is not available, as on a machine
// that only has the test binary.
func BuildNATSServer(tb testing.TB) string {
	tb.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("needs the go command to build nats-server")
	}
	bin := filepath.Join(tb.TempDir(), "nats-server")
	build := exec.Command(gobin, "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building nats-server: %v\n%s", err, out)
	}
	return bin
}
