package fleet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	nd := openNode(t, cfg, f.opts(t, 0))
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
	// A key of its own for each try: a try that timed out while the
	// server was away may still reach it once it is back (the client
	// keeps what it sends while reconnecting).
	for try := 0; ; try++ {
		first, err := nd.Claim(ctx, fmt.Sprint("after-the-crash-", try), time.Hour)
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

// runServerProgram starts knockbeep-nats with args and returns it, its
// stdin, and its output lines as they come. Its standard error is in
// cmd.Stderr (a *bytes.Buffer) once it exited.
func runServerProgram(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, <-chan string) {
	t.Helper()
	cmd := exec.Command(fleettest.ServerProgram(t), args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = new(bytes.Buffer)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, lines
}

// nextLine returns the program's next line of output, or "" once it
// ended or after 30 s.
func nextLine(lines <-chan string) string {
	select {
	case l := <-lines:
		return l
	case <-time.After(30 * time.Second):
		return ""
	}
}

// exitOf waits for cmd to exit, 30 s at most.
func exitOf(t *testing.T, cmd *exec.Cmd, lines <-chan string) error {
	t.Helper()
	exited := make(chan error, 1)
	go func() {
		for range lines {
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("still running after 30s")
		return nil
	}
}

// The program ends when its standard input does: what the kernel does to
// the pipe when knockbeepd dies, however it dies, so that no server
// outlives its daemon.
func TestServerProgramEndsWithItsStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	cmd, stdin, lines := runServerProgram(t, "--server-name", "t", "--listen", "127.0.0.1:-1", "--store", t.TempDir())
	if l := nextLine(lines); l != "starting" {
		t.Fatalf("first line %q, want starting", l)
	}
	if l := nextLine(lines); !strings.HasPrefix(l, "ready nats://127.0.0.1:") {
		t.Fatalf("second line %q, want ready and the client URL", l)
	}
	stdin.Close()
	if err := exitOf(t, cmd, lines); err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
}

// A port in use (another program, or a server that did not go away) ends
// the program at once with the server's own reason, instead of a silent
// wait: the daemon logs the reason and tries again.
func TestServerProgramPortInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cmd, _, lines := runServerProgram(t, "--server-name", "t", "--listen", taken.Addr().String(), "--store", t.TempDir())
	var out []string
	for l := range lines {
		out = append(out, l)
	}
	err = exitOf(t, cmd, lines)
	stderr := cmd.Stderr.(*bytes.Buffer).String()
	if code := cmd.ProcessState.ExitCode(); code != 1 || slices.ContainsFunc(out, func(l string) bool { return strings.HasPrefix(l, "ready") }) ||
		!strings.Contains(stderr, "address already in use") {
		t.Errorf("exit %v (code %d), output %q, stderr %q; want status 1, no ready line and the reason", err, code, out, stderr)
	}
}

// Two servers never open one store: a server started while the last one
// still runs (a daemon restarted at once, its old server still flushing)
// waits for it to let go.
func TestServerProgramWaitsForTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	store := t.TempDir()
	first, firstIn, firstLines := runServerProgram(t, "--server-name", "a", "--listen", "127.0.0.1:-1", "--store", store)
	if nextLine(firstLines) != "starting" || !strings.HasPrefix(nextLine(firstLines), "ready ") {
		t.Fatal("the first server did not start")
	}
	second, secondIn, secondLines := runServerProgram(t, "--server-name", "b", "--listen", "127.0.0.1:-1", "--store", store)
	if l := nextLine(secondLines); l != "starting" {
		t.Fatalf("second server's first line %q, want starting", l)
	}
	select {
	case l := <-secondLines:
		t.Fatalf("the second server went on (%q) while the first held the store", l)
	case <-time.After(2 * time.Second):
	}
	firstIn.Close()
	if err := exitOf(t, first, firstLines); err != nil {
		t.Fatalf("first server: %v", err)
	}
	if l := nextLine(secondLines); !strings.HasPrefix(l, "ready ") {
		t.Fatalf("after the first server exited, the second said %q, want ready", l)
	}
	secondIn.Close()
	if err := exitOf(t, second, secondLines); err != nil {
		t.Errorf("second server: %v", err)
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
		wantIs                 error
	}{
		{name: "configured", configured: exe, want: exe},
		{name: "configured, missing", configured: filepath.Join(dir, "nosuch"), wantErr: "server_program: exec: ", wantIs: fs.ErrNotExist},
		{name: "configured, not executable", configured: plain, wantErr: "server_program: exec: \"" + plain + "\": permission denied", wantIs: fs.ErrPermission},
		{name: "configured, a directory", configured: dir, wantErr: "is a directory", wantIs: syscall.EISDIR},
		{name: "on PATH", path: dir, want: exe},
		{name: "nowhere", path: t.TempDir(), wantErr: "knockbeep-nats is not installed (looked at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			got, err := FindServerProgram(tt.configured)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("got %q, %v; want an error with %q (%v)", got, err, tt.wantErr, tt.wantIs)
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
