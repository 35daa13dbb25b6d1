package fleet

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/internal/childproc"
)

// ServerProgramName is the embedded NATS server's program (cmd/knockbeep-nats,
// package natsnode), installed beside knockbeepd.
const ServerProgramName = "knockbeep-nats"

// FindServerProgram returns the program that runs the embedded NATS
// server: configured (server_program in [cluster]) when set, else
// knockbeep-nats in ../libexec/knockbeep/ or the directory of the running
// program, else on $PATH. Each is checked as exec would run it.
func FindServerProgram(configured string) (string, error) {
	if configured != "" {
		if _, err := exec.LookPath(configured); err != nil {
			return "", fmt.Errorf("server_program: %w", err)
		}
		return configured, nil
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "..", "libexec", "knockbeep", ServerProgramName), filepath.Join(dir, ServerProgramName)} {
			if _, err := exec.LookPath(p); err == nil {
				return p, nil
			}
			looked = append(looked, p)
		}
	}
	if p, err := exec.LookPath(ServerProgramName); err == nil {
		return p, nil
	}
	looked = append(looked, "$PATH")
	return "", fmt.Errorf("the embedded NATS server's program %s is not installed (looked at %s): install it with knockbeepd, or set server_program in [cluster]",
		ServerProgramName, strings.Join(looked, ", "))
}

// programStartTimeout bounds how long the program may take to say it
// runs ("starting"). After that it may take as long as its store takes
// to read (a big one, after a crash, takes long) before it is ready: it
// is waited for while it runs, and said to be waited for every
// startingNote.
const (
	programStartTimeout = 10 * time.Second
	startingNote        = 30 * time.Second
)

// serverStopTimeout bounds a shutdown before the program is killed.
const serverStopTimeout = 15 * time.Second

// Restarts after a crash wait restartMin, doubling up to restartMax; a
// server that ran restartReset resets the wait.
const (
	restartMin   = time.Second
	restartMax   = 30 * time.Second
	restartReset = time.Minute
)

// natsServer is the embedded NATS server: knockbeep-nats as a child
// process, restarted when it dies, stopped when the node closes. Its
// client and route URLs stay the same across restarts (a port left to the
// kernel is pinned at the first start), so the node's connection, which
// reconnects on its own, finds it again.
type natsServer struct {
	log      *slog.Logger
	program  string
	cfg      Config // serve and cluster_listen with the ports of the first start
	id       NodeID
	storeDir string

	client, route string

	restarts atomic.Uint64 // started again after it died

	mu     sync.Mutex
	stdin  io.Closer     // closing it asks the program to shut down
	cmd    *exec.Cmd     // the running program
	exited chan struct{} // closed when the running program has exited
	stop   chan struct{} // closed by close: no more restarts
	done   chan struct{} // closed when the supervisor has returned
}

// args is the program's command line (package natsnode reads it; the
// fleet's tests run the two together).
func (s *natsServer) args() []string {
	args := []string{"--server-name", "knockbeep-" + string(s.id), "--listen", s.cfg.Serve, "--store", s.storeDir}
	if len(s.cfg.Routes) > 0 {
		host, port, _ := s.cfg.ClusterListenAddr()
		args = append(args, "--cluster-name", "knockbeep-"+s.cfg.Name, "--cluster-listen", net.JoinHostPort(host, strconv.Itoa(port)))
		for _, r := range s.cfg.Routes {
			args = append(args, "--route", r)
		}
	}
	return args
}

// startServer starts the program and waits until it is ready. A program
// that cannot start exits at once with its reason, which the error
// gives; one that finds the last server of this node still shutting down
// waits for it (natsnode locks the store).
func startServer(program string, cfg Config, id NodeID, storeDir string, log *slog.Logger) (*natsServer, error) {
	s := &natsServer{log: log, program: program, cfg: cfg, id: id, storeDir: storeDir,
		stop: make(chan struct{}), done: make(chan struct{})}
	ready, err := s.spawn()
	if err != nil {
		return nil, err
	}
	f := strings.Fields(ready)
	s.client = f[1]
	if len(f) > 2 {
		s.route = f[2]
	}
	// A port left to the kernel (port -1, as tests ask) is the one it
	// chose from now on.
	s.cfg.Serve = withPortOf(s.cfg.Serve, s.client)
	if len(s.cfg.Routes) > 0 {
		host, port, _ := s.cfg.ClusterListenAddr()
		s.cfg.ClusterListen = withPortOf(net.JoinHostPort(host, strconv.Itoa(port)), s.route)
	}
	go s.supervise()
	return s, nil
}

// withPortOf returns addr (host:port) with the port url names, or addr
// when url names none.
func withPortOf(addr, url string) string {
	_, hp, _ := strings.Cut(url, "://")
	_, port, err := net.SplitHostPort(hp)
	host, _, err2 := net.SplitHostPort(addr)
	if err != nil || err2 != nil {
		return addr
	}
	return net.JoinHostPort(host, port)
}

// errStopped is spawn's error when close came first.
var errStopped = errors.New("fleet: the node is closing")

// spawn starts the program and waits for its ready line, or for close.
func (s *natsServer) spawn() (string, error) {
	cmd := exec.Command(s.program, s.args()...)
	// A group of its own: Ctrl-C stops the daemon, which then stops the
	// server, rather than both at once (the daemon would take the
	// server's exit for a crash and start it again).
	childproc.OwnGroup(cmd)
	// Wait returns this long after the program exits even if something
	// it started still holds its output (a server_program that is a
	// script which did not exec).
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", fmt.Errorf("fleet: embedded NATS server: %w", err)
	}
	started, ready := make(chan struct{}, 1), make(chan string, 1)
	stderr := newTailWriter(s.log)
	cmd.Stdout = &childproc.LineWriter{Max: maxProtocolLine, Line: func(l string) {
		switch {
		case l == "starting":
			select {
			case started <- struct{}{}:
			default:
			}
		case strings.HasPrefix(l, "ready ") && len(strings.Fields(l)) >= 2:
			select {
			case ready <- l:
			default:
			}
		}
	}}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("fleet: embedded NATS server: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	fail := func(format string, a ...any) (string, error) {
		childproc.KillGroup(cmd)
		<-exited
		return "", fmt.Errorf("fleet: embedded NATS server (%s) "+format+"%s", append(append([]any{s.program}, a...), stderr.said())...)
	}
	deadline := time.NewTimer(programStartTimeout)
	defer deadline.Stop()
	var note <-chan time.Time
	for {
		select {
		case <-started:
			deadline.Stop()
			ticker := time.NewTicker(startingNote)
			defer ticker.Stop()
			note = ticker.C
		case <-note:
			s.log.Warn("fleet: the embedded NATS server is still starting (reading its JetStream store)", "program", s.program)
		case line := <-ready:
			s.mu.Lock()
			s.cmd, s.stdin, s.exited = cmd, stdin, exited
			s.mu.Unlock()
			return line, nil
		case <-exited:
			return "", fmt.Errorf("fleet: embedded NATS server (%s) exited before it was ready (%v)%s", s.program, waitErr, stderr.said())
		case <-deadline.C:
			return fail("did not run: no \"starting\" line in %v", programStartTimeout)
		case <-s.stop:
			fail("stopped while it was starting")
			return "", errStopped
		}
	}
}

// supervise restarts the program whenever it exits, until close.
func (s *natsServer) supervise() {
	defer close(s.done)
	wait := restartMin
	for {
		s.mu.Lock()
		exited, started := s.exited, time.Now()
		s.mu.Unlock()
		select {
		case <-exited:
		case <-s.stop:
			return
		}
		if time.Since(started) > restartReset {
			wait = restartMin
		}
		s.log.Error("fleet: the embedded NATS server exited; starting it again", "state", s.cmd.ProcessState.String(), "in", wait)
		for {
			select {
			case <-time.After(wait):
			case <-s.stop:
				return
			}
			wait = min(2*wait, restartMax)
			if _, err := s.spawn(); errors.Is(err, errStopped) {
				return
			} else if err != nil {
				s.log.Error("fleet: the embedded NATS server did not start again", "err", err, "next_try_in", wait)
				continue
			}
			s.restarts.Add(1)
			s.log.Info("fleet: the embedded NATS server is back", "client", s.client)
			break
		}
	}
}

// close stops the program: its stdin closed, it shuts down; one that has
// not exited after serverStopTimeout is killed.
func (s *natsServer) close() {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	cmd, stdin, exited := s.cmd, s.stdin, s.exited
	s.mu.Unlock()
	stdin.Close()
	select {
	case <-exited:
	case <-time.After(serverStopTimeout):
		s.log.Warn("fleet: the embedded NATS server did not shut down; killing it", "after", serverStopTimeout)
		childproc.KillGroup(cmd)
		<-exited
	}
}

// maxProtocolLine bounds a line of the program's output: the protocol's
// lines and nats-server's messages are far shorter.
const maxProtocolLine = 4096

// tailWriter logs the program's standard error, a line at a time, and
// keeps the last lines for the error of a start that failed.
type tailWriter struct {
	childproc.LineWriter
	mu   sync.Mutex
	last []string
}

func newTailWriter(log *slog.Logger) *tailWriter {
	w := &tailWriter{}
	w.Max = maxProtocolLine
	w.Line = func(l string) {
		log.Warn("fleet: embedded NATS server: " + l)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.last = append(w.last, l)
		if len(w.last) > 5 {
			w.last = w.last[1:]
		}
	}
	return w
}

// said returns the last lines as ": LINE; LINE", or "".
func (w *tailWriter) said() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.last) == 0 {
		return ""
	}
	return ": " + strings.Join(w.last, "; ")
}
