package fleet

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

// The embedded server's program killed (a crash, the OOM killer): the
// node starts it again on the same port, its connection comes back, and
// what the fleet stored before is still there.
func TestServerProgramRestartedAfterACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	f := newTestFleet(t, 1)
	cfg := f.serving(t, 0)
	nd, err := Open(context.Background(), cfg, f.opts(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := nd.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if first, err := nd.Claim(ctx, "before-the-crash", time.Hour); !first || err != nil {
		t.Fatalf("claim before the crash = %v, %v", first, err)
	}
	url := nd.ClientURL()
	nd.srv.mu.Lock()
	crashed := nd.srv.cmd.Process
	nd.srv.mu.Unlock()
	if err := crashed.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		first, err := nd.Claim(ctx, "after-the-crash", time.Hour)
		if err == nil {
			if !first {
				t.Fatal("a key never claimed was taken")
			}
			break
		}
		if !errors.Is(err, ErrDegraded) || ctx.Err() != nil {
			t.Fatalf("claim after the crash: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	nd.srv.mu.Lock()
	restarted := nd.srv.cmd.Process
	nd.srv.mu.Unlock()
	if restarted.Pid == crashed.Pid || nd.ClientURL() != url {
		t.Errorf("after the crash: pid %d (was %d), URL %s (was %s); want a new process on the same URL", restarted.Pid, crashed.Pid, nd.ClientURL(), url)
	}
	if first, err := nd.Claim(ctx, "before-the-crash", time.Hour); first || err != nil {
		t.Errorf("claim of a key claimed before the crash = %v, %v; want it refused: the store lost it", first, err)
	}
	if n := nd.Stats().ServerRestarts; n != 1 {
		t.Errorf("Stats().ServerRestarts = %d after one crash, want 1", n)
	}
}

// The program ends when its standard input does: what the kernel does to
// the pipe when knockbeepd dies, however it dies, so that no server
// outlives its daemon and holds the ports its restart needs.
func TestServerProgramEndsWithItsStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	cmd := exec.Command(fleettest.ServerProgram(t), "--server-name", "t", "--listen", "127.0.0.1:-1", "--store", t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready nats://127.0.0.1:") {
		cmd.Process.Kill()
		t.Fatalf("first line %q (%v), want ready and the client URL", line, err)
	}
	stdin.Close()
	exited := make(chan error, 1)
	go func() { io.Copy(io.Discard, stdout); exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 30s after its stdin closed")
	}
}

func TestFindServerProgram(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "knockbeep-nats")
	plain := filepath.Join(dir, "plain")
	for path, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, configured, path string
		want, wantErr          string
	}{
		{name: "configured", configured: exe, want: exe},
		{name: "configured, missing", configured: filepath.Join(dir, "nosuch"), wantErr: "server_program: stat "},
		{name: "configured, not executable", configured: plain, wantErr: "server_program: " + plain + " is not executable"},
		{name: "configured, a directory", configured: dir, wantErr: "is a directory"},
		{name: "on PATH", path: dir, want: exe},
		{name: "nowhere", path: t.TempDir(), wantErr: "knockbeep-nats is not installed (looked at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			got, err := FindServerProgram(tt.configured)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A node whose server program cannot start says so at Open, with what
// the program said, rather than running without its server.
func TestServerProgramThatCannotStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	f := newTestFleet(t, 1)
	cfg := f.serving(t, 0)
	// Its store is a file, not a directory.
	opts := f.opts(t, 0)
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.StateDir, "nats"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	nd, err := Open(context.Background(), cfg, opts)
	if err == nil {
		nd.Close()
		t.Fatal("Open succeeded with a server that cannot start")
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "knockbeep-nats: ") {
		t.Errorf("error %q: want the program's exit and its own message", err)
	}
}
