package fleettest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

var serverProgram struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// ServerProgram builds knockbeep-nats, the fleet's embedded server
// program, once per test binary and returns its path: the value of
// server_program in the tests' [cluster] tables. RemoveServerProgram,
// from TestMain, removes it.
func ServerProgram(tb testing.TB) string {
	tb.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("needs the go command to build knockbeep-nats")
	}
	p := &serverProgram
	p.once.Do(func() {
		if p.dir, p.err = os.MkdirTemp("", "knockbeep-nats-"); p.err != nil {
			return
		}
		p.path = filepath.Join(p.dir, "knockbeep-nats")
		build := exec.Command(gobin, "build", "-o", p.path, "github.com/knockbeep/knockbeep/cmd/knockbeep-nats")
		// As the packages build it: without cgo, it can drop its
		// capabilities on every thread.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("building knockbeep-nats: %v\n%s", err, out)
		}
	})
	if p.err != nil {
		tb.Fatal(p.err)
	}
	return p.path
}

// RemoveServerProgram removes what ServerProgram built.
func RemoveServerProgram() {
	if serverProgram.dir != "" {
		os.RemoveAll(serverProgram.dir)
	}
}
