package natsnode

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMainRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantErr    string
	}{
		{name: "no listen", args: []string{"--store", t.TempDir()}, wantStatus: 2, wantErr: "--listen is required"},
		{name: "listen not host:port", args: []string{"--listen", "4222", "--store", t.TempDir()}, wantStatus: 1, wantErr: `--listen "4222": want host:port`},
		{name: "port out of range", args: []string{"--listen", "127.0.0.1:70000", "--store", t.TempDir()}, wantStatus: 1, wantErr: "not a number from 0 to 65535"},
		{name: "no store", args: []string{"--listen", "127.0.0.1:-1"}, wantStatus: 1, wantErr: "--store is required"},
		{name: "bad cluster listen", args: []string{"--listen", "127.0.0.1:-1", "--store", t.TempDir(), "--route", "nats-route://127.0.0.1:6222", "--cluster-listen", "x"}, wantStatus: 1, wantErr: `--cluster-listen "x"`},
		{name: "an argument", args: []string{"--listen", "127.0.0.1:-1", "extra"}, wantStatus: 2, wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"--nosuch"}, wantStatus: 2, wantErr: "flag provided but not defined: -nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := Main(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, noExit(t))
			if status != tt.wantStatus || !strings.Contains(stderr.String(), tt.wantErr) || strings.Contains(stdout.String(), "ready") {
				t.Errorf("status %d, stdout %q, stderr %q; want %d and %q", status, stdout.String(), stderr.String(), tt.wantStatus, tt.wantErr)
			}
		})
	}
}

func TestMainVersion(t *testing.T) {
	var stdout bytes.Buffer
	if status := Main(context.Background(), []string{"--version"}, strings.NewReader(""), &stdout, io.Discard, noExit(t)); status != 0 ||
		!strings.HasPrefix(stdout.String(), "knockbeep-nats (knockbeep) ") {
		t.Errorf("status %d, %q", status, stdout.String())
	}
}

// noExit stands in for os.Exit, which a fatal error of the server calls:
// none is expected.
func noExit(t *testing.T) func(int) {
	return func(code int) { t.Errorf("the server called exit(%d)", code) }
}

// syncBuffer is a bytes.Buffer Main may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Listening on every address, the ready line gives the loopback URL a
// client on this host connects to; the server stops when asked to.
func TestMainReadyLineAndShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdin, stdinW := io.Pipe() // the context stops it
	defer stdinW.Close()
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--listen", "0.0.0.0:-1", "--store", t.TempDir()}, stdin, &stdout, io.Discard, noExit(t))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(stdout.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	first, line, _ := strings.Cut(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if first != "starting" || !strings.HasPrefix(line, "ready nats://127.0.0.1:") || strings.Count(line, " ") != 1 {
		t.Errorf("first lines %q, %q: want starting, then the loopback client URL and no route URL", first, line)
	}
	cancel()
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("status %d after the shutdown, want 0", status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after its context ended")
	}
}
