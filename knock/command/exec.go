package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/internal/childproc"
	"github.com/knockbeep/knockbeep/knock"
)

// errCommandTimeout ends a command that ran past its door's timeout.
var errCommandTimeout = errors.New("command: command timeout")

// waitDelay is how long Wait waits, after a command has exited, for the
// processes it left in the background to close its output.
const waitDelay = time.Second

// maxLogLine is the longest output line logged as one record; longer lines
// are logged in pieces of this size.
const maxLogLine = 4096

// commandPath is the PATH commands run with: the daemon's own, so that a
// config that works from the administrator's shell works from the daemon.
func commandPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return defaultPath
}

// environment is the whole environment of a door's commands. It is clean:
// whatever the daemon inherited (LD_PRELOAD, proxies, locale) does not leak
// into firewall commands. The KNOCK_ variables hold the placeholder values,
// for shell commands that prefer "$KNOCK_IP" to %IP%.
func (r *Runner) environment(door string, src netip.Addr, ev knock.Event) []string {
	return []string{
		"PATH=" + r.path,
		"KNOCK_IP=" + src.String(),
		"KNOCK_PORT=" + strconv.Itoa(int(ev.Port)),
		"KNOCK_PROTO=" + ev.Proto.String(),
		"KNOCK_DOOR=" + door,
	}
}

// run runs one job to its end and logs its output and exit status.
func (r *Runner) run(j job) {
	attrs := []any{"door", j.door, "src", j.src, "cmd", j.what}
	if r.ctx.Err() != nil {
		if !j.cmd.IsZero() {
			r.lost.Add(1)
			r.log.Error("command: not run: shutdown gave up waiting; run it by hand if it matters",
				with(attrs, "argv", j.cmd.Argv, "shell", j.cmd.Shell)...)
		}
		return
	}
	if j.cmd.IsZero() { // a door with a stop command and no start command
		return
	}
	// The timeout is on the wall clock, not the injected one: it bounds
	// a process, which runs in real time whatever a test's fake clock
	// says, and the injected clock's timers are the stop commands'
	// (tests count them to know a stop command is armed).
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	if j.timeout > 0 {
		timer := time.AfterFunc(j.timeout, func() { cancel(errCommandTimeout) })
		defer timer.Stop()
	}
	var cmd *exec.Cmd
	if j.cmd.Shell {
		cmd = exec.CommandContext(ctx, r.shell, "-c", strings.Join(j.cmd.Argv, " "))
	} else {
		cmd = exec.CommandContext(ctx, j.cmd.Argv[0], j.cmd.Argv[1:]...)
	}
	cmd.Env = j.env
	cmd.WaitDelay = waitDelay
	// A group of its own: a timeout kills the whole group, so that a
	// shell command's children die with it instead of holding the door's
	// queue, and the daemon's terminal signals (Ctrl-C under -D) stay away
	// from a stop command that shutdown is waiting for.
	childproc.OwnGroup(cmd)
	cmd.Cancel = func() error { return childproc.KillGroup(cmd) }
	stdout := outputLogger(r.log, with(attrs, "stream", "stdout"))
	stderr := outputLogger(r.log, with(attrs, "stream", "stderr"))
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if r.knockd {
		// knockd logs the command line it hands to the shell.
		r.log.Info(fmt.Sprintf("%s: running command: %s", j.door, strings.Join(j.cmd.Argv, " ")))
	} else {
		r.log.Info("command: running", with(attrs, "argv", cmd.Args)...)
	}
	began := time.Now()
	err := cmd.Run()
	stdout.Flush()
	stderr.Flush()
	took := time.Since(began)
	r.durations.observe(took)
	attrs = with(attrs, "duration", took.Round(time.Millisecond))

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		r.succeeded.Add(1)
		r.log.Info("command: done", with(attrs, "exit", 0)...)
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success():
		r.succeeded.Add(1)
		r.log.Info("command: done; a process it left in the background still holds its output, which is no longer logged",
			with(attrs, "exit", 0)...)
	case context.Cause(ctx) == errCommandTimeout:
		r.failed.Add(1)
		r.timedOut.Add(1)
		r.log.Error("command: killed: still running after the door's command_timeout (\"0s\" for no limit)", with(attrs, "timeout", j.timeout)...)
	case r.ctx.Err() != nil:
		r.failed.Add(1)
		r.log.Error("command: killed: shutdown gave up waiting for it", attrs...)
	case errors.As(err, &exitErr):
		r.failed.Add(1)
		r.log.Warn("command: failed", with(attrs, "exit", exitErr.ExitCode(), "status", exitErr.String())...)
	default:
		r.failed.Add(1)
		r.log.Error("command: could not run", with(attrs, "err", err)...)
	}
}

// outputLogger logs what a command writes to one of its streams, one
// record per line.
func outputLogger(log *slog.Logger, attrs []any) *childproc.LineWriter {
	return &childproc.LineWriter{Max: maxLogLine, Line: func(line string) {
		log.Info("command: output", with(attrs, "line", line)...)
	}}
}

// with returns attrs followed by more, never sharing attrs' array, so that
// log attributes built from one base never overwrite each other.
func with(attrs []any, more ...any) []any {
	return append(attrs[:len(attrs):len(attrs)], more...)
}
