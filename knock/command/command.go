package command

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
)

// DefaultShell runs the commands of doors that ask for a shell.
const DefaultShell = "/bin/sh"

// defaultQueueLen bounds the commands pending (queued or running) per door
// before a start command is refused. It is generous: 4096 successful knock
// sequences on one door faster than its commands run is a flood, not users.
const defaultQueueLen = 4096

// defaultPath is the PATH commands get when the daemon itself has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options configure a Runner. The zero Options are usable.
type Options struct {
	// Clock times each door's StopDelay; nil means clock.System().
	Clock clock.Clock
	// Logger receives every command run, its output and its exit status;
	// nil discards them.
	Logger *slog.Logger
	// Shell runs the commands of doors with Command.Shell set, as
	// SHELL -c STRING; empty means DefaultShell.
	Shell string
	// KnockdMessages logs knockd's own lines, which fail2ban filters and
	// scripts written for knockd's log look for: "DOOR: running command:
	// CMD" instead of "command: running", and "SRC: DOOR: command
	// timeout" when a door's cmd_timeout is over and its stop command is
	// queued. Each is the whole message, with no attributes.
	KnockdMessages bool
}

// Stats count what a Runner did since it was made.
type Stats struct {
	Opened      uint64 // Open calls that queued a start command
	AlreadyOpen uint64 // Open calls skipped: the door was open for that source
	QueueFull   uint64 // Open calls refused: too many commands pending for the door
	Refused     uint64 // Open calls refused because Shutdown had begun
	Succeeded   uint64 // commands that exited 0
	Failed      uint64 // commands that could not start, exited non-zero or were killed
	TimedOut    uint64 // commands killed by the command timeout (also counted in Failed)
	Lost        uint64 // commands never run because Shutdown's context ended first
	Open        int    // doors open now: start run or queued, stop not yet queued
	Durations   Histogram
}

// A Runner runs the commands of command doors. See the package
// documentation for the order, state and shutdown guarantees.
type Runner struct {
	clock    clock.Clock
	log      *slog.Logger
	shell    string
	knockd   bool // Options.KnockdMessages
	queueLen int
	path     string

	// ctx is cancelled when Shutdown gives up: running commands are killed
	// and queued ones are dropped with a log line each.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	doors     map[string]*doorQueue // doors with commands queued or running
	openings  map[*opening]struct{} // stop not yet queued
	open      map[openKey]int       // openings per door and source
	closing   bool
	drained   chan struct{} // made by Shutdown, closed when nothing is left to run
	isDrained bool

	opened, alreadyOpen, queueFull, refused atomic.Uint64
	succeeded, failed, timedOut, lost       atomic.Uint64
	durations                               durations
}

type openKey struct {
	door string
	src  netip.Addr
}

// An opening is a door open for one source: its start command is queued,
// running or done, and its stop command waits the door's StopDelay.
type opening struct {
	key        openKey
	stop       job
	after      time.Duration
	timer      clock.Timer // armed when the start command has finished
	stopQueued bool
}

// A job is one command to run, placeholders already replaced.
type job struct {
	door    string
	src     netip.Addr
	what    string // "start" or "stop", for the log
	cmd     knock.Command
	env     []string
	timeout time.Duration // kill the command after this long; 0: never
	opening *opening      // for a start job of a door with a stop command
}

// A doorQueue is the FIFO of one door, drained by at most one worker.
type doorQueue struct {
	name    string
	jobs    []job
	pending int // queued or running
	working bool
}

// NewRunner returns a Runner ready for Open.
func NewRunner(opts Options) *Runner {
	r := &Runner{
		clock:    opts.Clock,
		log:      opts.Logger,
		shell:    opts.Shell,
		knockd:   opts.KnockdMessages,
		queueLen: defaultQueueLen,
		path:     commandPath(),
		doors:    make(map[string]*doorQueue),
		openings: make(map[*opening]struct{}),
		open:     make(map[openKey]int),
	}
	if r.clock == nil {
		r.clock = clock.System()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.shell == "" {
		r.shell = DefaultShell
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Open acts on a door that opened for ev.Src: it queues the door's start
// command (Start6 for an IPv6 source when the door has one), and once that
// has run, arms a timer that queues the stop command (Stop6 likewise) after
// the door's StopDelay. A door with a stop command that is already open for
// the source is not opened again unless door.Reopen is set. Open never
// blocks on a command.
func (r *Runner) Open(door knock.Door, ev knock.Event) { r.openDoor(door, ev, nil) }

// OpenMessage is Open for a text a message door delivered: %MESSAGE% in
// its commands is the text, one argument of an argv command whatever it
// holds; in a shell command it becomes "$KNOCK_MESSAGE", so that the
// shell never parses the text. KNOCK_MESSAGE holds it in the environment
// of both.
func (r *Runner) OpenMessage(door knock.Door, ev knock.Event, text string) {
	r.openDoor(door, ev, &text)
}

// openDoor is Open, with the text of a message when msg is not nil.
func (r *Runner) openDoor(door knock.Door, ev knock.Event, msg *string) {
	src := ev.Src.WithZone("") // a zone is an interface name: never let it reach a command
	start, stop := door.Start, door.Stop
	if src.Is6() {
		if !door.Start6.IsZero() {
			start = door.Start6
		}
		if !door.Stop6.IsZero() {
			stop = door.Stop6
		}
	}
	if start.IsZero() && stop.IsZero() {
		return
	}
	vars := placeholders(door.Name, src, ev, msg)
	env := r.environment(door.Name, src, ev)
	if msg != nil {
		env = append(env, "KNOCK_MESSAGE="+*msg)
	}
	startJob := job{door: door.Name, src: src, what: "start", cmd: vars.expand(start), env: env}

	r.mu.Lock()
	refusal := r.openLocked(door, stop, startJob, vars)
	r.mu.Unlock()

	attrs := []any{"door", door.Name, "src", src}
	switch refusal {
	case "":
		r.opened.Add(1)
		r.log.Debug("command: door opened, start command queued", attrs...)
	case refusedClosing:
		r.refused.Add(1)
		r.log.Warn("command: door not opened: the daemon is shutting down", attrs...)
	case refusedAlreadyOpen:
		r.alreadyOpen.Add(1)
		r.log.Info("command: door already open for this source, start command not run again (set reopen to run it on every knock)", attrs...)
	case refusedQueueFull:
		r.queueFull.Add(1)
		r.log.Warn("command: door not opened: too many commands pending for this door", with(attrs, "pending", r.queueLen)...)
	}
}

const (
	refusedClosing     = "closing"
	refusedAlreadyOpen = "already open"
	refusedQueueFull   = "queue full"
)

func (r *Runner) openLocked(door knock.Door, stop knock.Command, startJob job, vars replacer) (refusal string) {
	if r.closing {
		return refusedClosing
	}
	key := openKey{door.Name, startJob.src}
	if !stop.IsZero() && r.open[key] > 0 && !door.Reopen {
		return refusedAlreadyOpen
	}
	if q := r.doors[door.Name]; q != nil && q.pending >= r.queueLen {
		return refusedQueueFull
	}
	startJob.timeout = door.CommandTimeout
	if !stop.IsZero() {
		o := &opening{
			key:   key,
			after: door.StopDelay,
			stop: job{door: door.Name, src: startJob.src, what: "stop", cmd: vars.expand(stop), env: startJob.env,
				timeout: startJob.timeout},
		}
		r.open[key]++
		r.openings[o] = struct{}{}
		startJob.opening = o
	}
	r.enqueueLocked(startJob)
	return ""
}

// enqueueLocked adds j to its door's FIFO and starts the door's worker if
// it has none. Stop jobs are never refused: each comes from a start that
// was accepted, so they at most double a door's queue.
func (r *Runner) enqueueLocked(j job) {
	q := r.doors[j.door]
	if q == nil {
		q = &doorQueue{name: j.door}
		r.doors[j.door] = q
	}
	q.jobs = append(q.jobs, j)
	q.pending++
	if !q.working {
		q.working = true
		go r.work(q)
	}
}

// work runs the jobs of one door in order until its queue is empty.
func (r *Runner) work(q *doorQueue) {
	for {
		r.mu.Lock()
		if len(q.jobs) == 0 {
			q.working = false
			delete(r.doors, q.name)
			r.checkDrainedLocked()
			r.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		r.mu.Unlock()

		r.run(j)

		r.mu.Lock()
		q.pending--
		if j.opening != nil {
			r.armStopLocked(j.opening)
		}
		r.mu.Unlock()
	}
}

// armStopLocked starts the StopDelay of an opening whose start command
// has finished; during shutdown the stop is queued at once. The wait counts
// from the end of the start command, as in knockd, whose child sleeps after
// the start command returns.
func (r *Runner) armStopLocked(o *opening) {
	if r.closing {
		r.queueStopLocked(o)
		return
	}
	o.timer = r.clock.AfterFunc(o.after, func() {
		if r.knockd {
			r.log.Info(fmt.Sprintf("%s: %s: command timeout", o.key.src, o.key.door))
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.queueStopLocked(o)
	})
}

// queueStopLocked closes an opening: its stop command is queued behind
// whatever the door already has queued, so a new start for the same source
// (accepted from now on) runs after this stop.
func (r *Runner) queueStopLocked(o *opening) {
	if o.stopQueued {
		return
	}
	o.stopQueued = true
	delete(r.openings, o)
	if r.open[o.key]--; r.open[o.key] <= 0 {
		delete(r.open, o.key)
	}
	r.enqueueLocked(o.stop)
}

func (r *Runner) checkDrainedLocked() {
	if r.closing && !r.isDrained && len(r.openings) == 0 && len(r.doors) == 0 {
		r.isDrained = true
		close(r.drained)
	}
}

// Shutdown is for SIGTERM: it refuses further Opens, queues every pending
// stop command now instead of at the end of its StopDelay, and waits until
// every queued command has run. If ctx ends first, running commands are
// killed, the commands still queued are logged as not run (with their
// command lines, so an administrator can run them by hand) and Shutdown
// returns an error. Calling it again waits again.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if !r.closing {
		r.closing = true
		r.drained = make(chan struct{})
		for o := range r.openings {
			// An opening without a timer has its start command still
			// queued or running; armStopLocked queues its stop after it.
			if o.timer != nil && o.timer.Stop() {
				r.queueStopLocked(o)
			}
		}
		r.checkDrainedLocked()
	}
	drained := r.drained
	r.mu.Unlock()

	select {
	case <-drained:
		r.cancel() // nothing runs any more; releases the context
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	<-drained // quick now: commands are killed and the queues are dropped
	return fmt.Errorf("command: shutdown gave up waiting for commands (%d never ran, see the log): %w", r.lost.Load(), ctx.Err())
}

// Stats returns the counters so far.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	open := len(r.openings)
	r.mu.Unlock()
	return Stats{
		Opened:      r.opened.Load(),
		AlreadyOpen: r.alreadyOpen.Load(),
		QueueFull:   r.queueFull.Load(),
		Refused:     r.refused.Load(),
		Succeeded:   r.succeeded.Load(),
		Failed:      r.failed.Load(),
		TimedOut:    r.timedOut.Load(),
		Lost:        r.lost.Load(),
		Open:        open,
		Durations:   r.durations.snapshot(),
	}
}

// A replacer replaces the placeholders of a door's commands: argv in argv
// commands, shell in shell commands (the same but for %MESSAGE%).
type replacer struct{ argv, shell *strings.Replacer }

func placeholders(door string, src netip.Addr, ev knock.Event, msg *string) replacer {
	pairs := []string{
		"%IP%", src.String(),
		"%PORT%", strconv.Itoa(int(ev.Port)),
		"%PROTO%", ev.Proto.String(),
		"%DOOR%", door,
	}
	if msg == nil {
		r := strings.NewReplacer(pairs...)
		return replacer{r, r}
	}
	return replacer{
		argv:  strings.NewReplacer(append(pairs, "%MESSAGE%", *msg)...),
		shell: strings.NewReplacer(append(pairs, "%MESSAGE%", `"$KNOCK_MESSAGE"`)...),
	}
}

// expand replaces the placeholders argument by argument, so that in argv
// mode a value is always exactly one argument whatever it contains.
func (v replacer) expand(c knock.Command) knock.Command {
	if c.IsZero() {
		return c
	}
	r := v.argv
	if c.Shell {
		r = v.shell
	}
	argv := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		argv[i] = r.Replace(a)
	}
	return knock.Command{Argv: argv, Shell: c.Shell}
}
