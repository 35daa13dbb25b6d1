package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/command"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/match"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/music"
	"github.com/knockbeep/knockbeep/knock/ratelimit"
	"github.com/knockbeep/knockbeep/knock/replaycache"
	"github.com/knockbeep/knockbeep/knock/source"
	"github.com/knockbeep/knockbeep/knock/status"
)

// DefaultShutdownTimeout bounds how long stopping waits for the pending
// stop commands to run. Each command may take up to its door's
// command_timeout (config.DefaultCommandTimeout unless the door says);
// the systemd unit's TimeoutStopSec leaves room for this and more.
const DefaultShutdownTimeout = 90 * time.Second

// expireInterval is how often attempts past their timeout are dropped and
// the host's addresses are looked at again.
const expireInterval = time.Second

// Options tune a Daemon. The zero Options run a live capture with the
// log going where the config says.
type Options struct {
	// ConfigPath is the file Reload reads again; "" means the built-in
	// defaults, which a reload reapplies.
	ConfigPath string
	// Override applies the command line's settings to every config read,
	// at start and on reload, so that flags keep winning over the file.
	Override func(*config.Config)
	// Replay, when set, is a pcap or pcapng file the daemon captures from
	// instead of the network (capture.OpenFile): the same capture loop,
	// ending with the file. Its knocks carry the time they were made,
	// which is the daemon's now while it plays (timeouts, rotating doors);
	// every destination counts as this host's (the file was captured on
	// the host whose knocks it holds); and Run returns once the file is
	// done and its songs have played. If it is an io.Closer it is closed
	// when Run's context ends, so that a read blocked on a pipe returns.
	Replay io.Reader
	// OnlyIPv4 ignores IPv6 knocks, as knockd's -4 does.
	OnlyIPv4 bool
	// Reload delivers one value per reload request (SIGHUP).
	Reload <-chan struct{}
	// Logger, when set, receives the log instead of the destinations the
	// config names.
	Logger *slog.Logger
	// Stderr is where the config's "stderr" log lines go; nil means
	// os.Stderr.
	Stderr io.Writer
	// ShutdownTimeout bounds how long stopping waits for pending stop
	// commands; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Clock times the command doors' cmd_timeout, the music doors' fsyncs
	// and song names, capture's retries and the once-a-second expiry of
	// attempts; nil means clock.System().
	Clock clock.Clock
}

// A Daemon is knockbeepd: capture, the music doors, the matcher and the
// command doors wired together. Make it with New, then call Run once.
type Daemon struct {
	opts   Options
	log    *slog.Logger
	logs   *logOutputs // nil when Options.Logger is used
	pid    *pidFile
	runner *command.Runner
	fw     *firewallOpener
	status *status.Server // nil without [http] listen

	started time.Time
	// eventTimed says that the capture's events carry their own time (a
	// file): the latest event's time is the daemon's now, and the events
	// drive the once-a-second tick (see advance). Live, the clock does
	// both.
	eventTimed bool
	// eventTime is, when eventTimed, the latest event's time in Unix ns
	// (0 before the first): written by the owner, read by the replay
	// cache, which a reload opens off the owner.
	eventTime atomic.Int64
	// knockdLog writes knockd's own lines for what knockd logs (stages,
	// OPEN SESAME, running command, command timeout) when the log is in
	// knockd's format, for fail2ban filters and scripts written for it.
	knockdLog bool

	capt    atomic.Pointer[capture.Capture] // the network's, or the file's
	local   atomic.Pointer[addrSet]         // this host's addresses
	handled atomic.Uint64                   // events the owner took
	drops   uint64                          // kernel drops already logged; tick goroutine only
	// resting says that the ticker sleeps until kick (see ticker).
	resting atomic.Bool
	kick    chan struct{}

	// reloadMu makes one reload at a time. The owner's fields that only
	// a reload changes (cfg, music, replayCache) are changed on the owner
	// while the reload holds reloadMu: a reload may read them without
	// asking the owner. replayCachePath is the reloads' own.
	reloadMu sync.Mutex

	// musicPrepared, when a test sets it, is called by a reload once it
	// has read the pools for rebuilt music doors, before the owner swaps
	// them in (try counts from 1).
	musicPrepared func(try int)

	// ownerMu guards owner, the running owner goroutine (owner.go); nil
	// while none runs, when do runs requests itself, under ownerMu.
	ownerMu sync.Mutex
	owner   *ownerLoop

	// The owner's state: only the owner goroutine, or a request through
	// do, touches what follows.
	cfg     *config.Config
	doors   *doorSet // cfg.Doors' sources and the matcher's doors
	matcher *match.Matcher
	music   *musicPart // nil when the music doors are off
	matches []match.Match
	refused uint64 // openings a source refused (replays)
	// limiter bounds each source's knocks ([rate_limit]); nil: no limit.
	limiter     *ratelimit.Limiter
	rateLimited uint64                 // knocks dropped by the limiter
	doorKnocks  map[string]uint64      // knocks that matched a step of each door
	events      []status.Event         // recent, for the status page
	opened      map[string][]time.Time // each door's openings in the last hour
	lastTick    time.Time              // eventTimed: the event time of the last tick
	// replayCache remembers the sequences of rotating doors that opened;
	// nil while no door is rotating.
	replayCache     *replaycache.Cache
	replayCachePath string

	// fleet is this host's place in a fleet ([cluster]); nil without one,
	// and when the knocks come from a file.
	fleet *fleetPart
	// claimed is the replay cache record the last use made (claimTap),
	// for the fleet to claim too.
	claimed claimNote
}

// now is the time the doors' sources judge by: the clock, or when the
// events carry their own time (a file) the latest event's.
func (d *Daemon) now() time.Time {
	if d.eventTimed {
		if ns := d.eventTime.Load(); ns != 0 {
			return time.Unix(0, ns)
		}
		return time.Time{}
	}
	return d.opts.Clock.Now()
}

// New opens everything the daemon needs, in the order that fails fastest
// and leaves nothing behind on failure: the log, the pidfile, the capture
// (so that knocks queue in the kernel from now on), the speaker and the
// music pools. cfg must be valid (config.Load validates).
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clock.System()
	}
	d := &Daemon{opts: opts, eventTimed: opts.Replay != nil, cfg: cfg, kick: make(chan struct{}, 1),
		knockdLog: cfg.Log.Format == config.LogKnockd}
	// undo releases, in reverse order, what was opened when a later step
	// fails.
	var undo []func()
	fail := func(err error) (*Daemon, error) {
		for _, f := range slices.Backward(undo) {
			f()
		}
		return nil, err
	}
	var err error

	if opts.Logger != nil {
		d.log = opts.Logger
	} else {
		d.logs, err = newLogOutputs(cfg.Log, opts.Stderr)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { d.logs.close() })
		d.log = d.logs.logger
	}

	if d.replayCache, err = d.openReplayCache(cfg); err != nil {
		return fail(err)
	}
	if d.replayCache != nil {
		undo = append(undo, func() { d.replayCache.Close() })
	}
	// The fleet before the doors: their sources claim their uses in it.
	// Its node works alone until the cluster answers, so this does not
	// wait for the network.
	if opts.Replay != nil && cfg.Cluster.Enabled() {
		d.log.Info("daemon: replaying a file: the fleet of [cluster] is not joined")
	} else if d.fleet, err = openFleet(cfg, d.log); err != nil {
		return fail(err)
	} else if d.fleet != nil {
		undo = append(undo, func() { d.fleet.stop(); d.fleet.close() })
	}
	d.doors, err = newDoorSet(cfg, d.sourceEnv(), d.opts.Clock.Now())
	if err != nil {
		return fail(err)
	}

	if cfg.PidFile != "" && opts.Replay == nil {
		pid, note, err := createPidFile(cfg.PidFile)
		if err != nil {
			return fail(err)
		}
		if note != "" {
			d.log.Warn("daemon: "+note, "pidfile", cfg.PidFile)
		}
		d.pid = pid
		undo = append(undo, func() { d.pid.remove() })
	}

	// The capture: the network, or a file. A file was captured on the
	// host whose knocks it holds, so every address counts as this host's.
	var c *capture.Capture
	if opts.Replay != nil {
		d.local.Store(&addrSet{all: true})
		c, err = capture.OpenFile(opts.Replay, d.currentFilter(), d.captureOptions())
	} else {
		var local []netip.Addr
		if local, err = capture.LocalAddrs(); err != nil {
			return fail(err)
		}
		d.local.Store(newAddrSet(local))
		c, err = capture.Open(interfaces(cfg), d.currentFilter(), d.captureOptions())
	}
	if err != nil {
		return fail(err)
	}
	d.capt.Store(c)
	undo = append(undo, func() { c.Close() })

	d.started, d.opened = time.Now(), map[string][]time.Time{}
	if err := d.listenStatus(); err != nil {
		return fail(err)
	}
	if d.status != nil {
		undo = append(undo, func() { d.status.Close() })
	}
	d.fw = newFirewallOpener(d.log, cfg.Doors)
	undo = append(undo, d.fw.close)
	d.limiter = newLimiter(cfg)

	if cfg.Music.Enabled {
		d.music, err = d.newMusicPart(cfg, nil)
		if err != nil {
			return fail(err)
		}
		d.music.start() // the last step that can fail is behind
	}

	matchOpts := match.Options{MaxAttempts: cfg.MaxAttempts, Logger: d.log, IsLocal: d.isLocal}
	d.doorKnocks = map[string]uint64{}
	matchOpts.OnProgress = d.onProgress
	d.matcher = match.New(d.doors.doors, matchOpts)
	d.runner = command.NewRunner(command.Options{Logger: d.log, Clock: d.opts.Clock, KnockdMessages: d.knockdLog})
	d.logDisabled(cfg)
	d.warnIfIdle()
	return d, nil
}

// Run is New followed by Run: the whole daemon, until ctx ends.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	d, err := New(cfg, opts)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// Run runs the daemon until ctx ends (SIGTERM, SIGINT), or when the
// capture is a file until the file has been acted on, then stops it:
// capture stops, the speaker falls silent, the pending stop commands run,
// the pools are synced and closed and the pidfile removed. It returns nil
// after a clean stop, and an error when capture failed or a stop command
// could not run.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { d.reloadLoop(ctx) })
	if d.status != nil {
		wg.Go(func() {
			if err := d.status.Serve(ctx); err != nil {
				d.log.Error("daemon: the status server stopped", "err", err)
			}
		})
	}

	// Capture hands knocks to the owner through a queue, so that a slow
	// moment of the owner (an fsync) never stalls the reading of the
	// kernel's ring.
	q := newEventQueue(eventQueueLen)
	captured := make(chan struct{}) // closed when capture has stopped
	var owner sync.WaitGroup
	owner.Go(func() { d.own(q, captured) })
	capErr := make(chan error, 1)
	wg.Go(func() {
		capErr <- d.captureLoop(ctx, q)
		close(captured)
	})
	if !d.eventTimed {
		addrs, watched := watchAddrs(ctx, d.log)
		wg.Go(func() { d.ticker(ctx, q, addrs, watched) })
	}
	if d.fleet != nil {
		d.fleet.run(func(o fleet.Opening) { d.do(func() { d.applyOpening(o) }) }, d.usersChanged,
			func(c fleet.Cue) { d.do(func() { d.playCue(c) }) })
	}
	d.do(func() {
		d.log.Info("daemon: capturing", "interfaces", d.captureNames(), "doors", len(d.cfg.Doors),
			"music", d.cfg.Music.Enabled, "pid", os.Getpid())
	})
	var runErr error
	ended := false
	select {
	case <-ctx.Done():
	case runErr = <-capErr:
		// A file that ended, or a capture that failed.
		ended = runErr == nil && d.capt.Load().FromFile()
	}
	if ended {
		owner.Wait() // every knock of the file has been acted on
		d.finishFile(ctx)
	}
	// Silence at once: capture notices the end only at its next poll
	// (up to 200 ms), and a note must not outlive SIGTERM by that long
	// (TestQemuDaemonSIGTERM heard 178-216 ms before this).
	d.silence()
	cancel()
	owner.Wait() // every knock captured has been acted on
	wg.Wait()
	return errors.Join(runErr, d.shutdown())
}

// captureNames names what the daemon captures on, for the log.
func (d *Daemon) captureNames() []string {
	if c := d.capt.Load(); c.FromFile() {
		return []string{"file"}
	}
	return interfaces(d.cfg)
}

// captureLoop runs the current capture, queueing its knocks for the
// owner; when a reload replaced it (new interfaces), it goes on with the
// new one. A file's capture returns nil at the file's end.
func (d *Daemon) captureLoop(ctx context.Context, q *eventQueue) error {
	done := ctx.Done()
	// Live, the consumer is woken once a batch (RunBatched): under a
	// flood, once a millisecond rather than for every knock.
	enqueue := func(ev *knock.Event) {
		q.add(ev, done)
		d.kickTicker()
	}
	// A file is read in step with the owner: each packet is read once
	// the owner has acted on the one before, so that it meets the filter
	// those left behind (a one-time door's next line), as it would have
	// live, where the packets were that far apart.
	lockstep := func(ev *knock.Event) {
		q.pushWait(ev, done)
		d.kickTicker()
	}
	for {
		c := d.capt.Load()
		if c.FromFile() {
			err := c.Run(ctx, lockstep)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("daemon: replay: %w", err)
			}
			return nil
		}
		err := c.RunBatched(ctx, enqueue, q.publish)
		if ctx.Err() != nil {
			return nil
		}
		if d.capt.Load() != c {
			continue // replaced by a reload, which closed the old one
		}
		if err == nil {
			err = errors.New("daemon: capture stopped")
		}
		return err
	}
}

// finishFile ends the play of a file whose every knock has been acted
// on: it logs what the file gave, and waits for the songs it queued to
// play.
func (d *Daemon) finishFile(ctx context.Context) {
	n := d.capt.Load().Stats().Total()
	d.log.Info("daemon: replay finished", "packets", n.Packets, "decode_errors", n.DecodeErrors, "knocks", d.handled.Load())
	var mp *musicPart
	d.do(func() {
		if !d.lastTick.IsZero() {
			d.matcher.Expire(d.lastTick)
		}
		mp = d.music
	})
	if mp != nil {
		mp.waitIdle(ctx)
	}
}

// ownerBatch is how many knocks the owner acts on before it looks for a
// request: enough that looking costs nothing per knock, few enough that
// a request never waits long.
const ownerBatch = 256

// handle acts on one knock, on the owner, in capture order.
// A music port goes to the music doors and no further; anything else to
// the matcher, whose matches run their commands.
func (d *Daemon) handle(ev *knock.Event) {
	if d.eventTimed {
		d.advance(ev.Time)
	}
	// Live, the kernel filter's destinations keep IPv6 out; a file's
	// capture passes every destination.
	if d.opts.OnlyIPv4 && !ev.Src.Unmap().Is4() {
		return
	}
	if d.limiter != nil && !d.limiter.Allow(ev.Src, ev.Time) {
		d.rateLimited++
		return
	}
	d.handled.Add(1)
	if d.doors.messages != nil {
		if md, msg, taken, ok := d.doors.messages.handle(ev); taken {
			if ok {
				d.deliver(md, msg, ev)
			}
			return
		}
	}
	if d.music != nil && d.cfg.Music.Rotating == nil { // the static music ports
		if d.cfg.Music.EnsemblePort != 0 && ev.Port == d.cfg.Music.EnsemblePort {
			if ev.IsKnock() {
				d.ensemble(ev.Src.WithZone(""))
			}
			return
		}
		plays := d.music.m.Plays()
		if d.music.m.Handle(ev) {
			if d.fleet != nil && d.music.m.Plays() > plays {
				d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditSong, Addr: ev.Src.WithZone("").String(), Detail: "knocked in and queued to play"})
			}
			return
		}
	}
	d.matches = d.matcher.Handle(ev, d.matches[:0])
	if len(d.matches) == 0 {
		return
	}
	for _, m := range d.matches {
		from := d.doors.origin[m.Door]
		door, src := d.cfg.Doors[from.door], d.doors.sources[from.door]
		// The source hears of the use first: it may refuse it (a replay),
		// and what it must remember is on disk before the door opens. In
		// a fleet, a use it recorded is claimed fleet-wide too, and the
		// door opens when the fleet has answered.
		err := src.Used(from.seq, m.Src, m.Event.Time)
		if err != nil {
			d.takeClaim()
		} else if d.fleetClaim(door.Name, m.Src, func(err error) { d.useDecided(door, src, from.seq, m, err) }) {
			continue
		}
		d.useDecided(door, src, from.seq, m, err)
	}
	// A use may change what the sources offer (the next one-time line, a
	// period's sequence that may not be used twice).
	d.refreshDoors(d.now())
}

// useDecided acts on a door's use once it is decided: refused (err, a
// replay) or opened.
func (d *Daemon) useDecided(door knock.Door, src source.Source, seq source.Sequence, m match.Match, err error) {
	d.answer(door, src, seq, m, err)
	var user string // with user_keys: whose key opened it
	if n, ok := src.(source.KeyNamer); ok {
		user = n.KeyName(seq)
	}
	if err != nil {
		d.refuse("daemon: door not opened", m.Name, m.Src, user, err, true)
		return
	}
	// Open first, then say so: writing the log can wake its reader
	// (journald, a pipe) and cost the opening a time slice.
	knocked := m.Event.Time // the kernel's time of the packet, live
	if d.eventTimed {
		knocked = time.Time{} // a file's time: no latency to tell
	}
	d.fw.open(door, m.Src, knocked)
	d.runner.Open(door, m.Event)
	d.logOpened(m, user)
	d.record("open", m.Name, m.Src, user)
	if d.fleet != nil {
		src := m.Src.WithZone("").Unmap()
		until := openUntil(door, d.opts.Clock.Now())
		d.fleet.auditOpen(fleet.AuditRecord{Kind: fleet.AuditOpening, Door: door.Name, Addr: src.String(), User: user}, until)
		if door.Fleet {
			d.fleet.publish(door.Name, src, until)
		}
	}
}

// advance moves the daemon's now to t, the time of an event that
// carries its own (a file's): the doors' sources judge by it at once, and
// the once-a-second tick follows it as it follows the clock live.
func (d *Daemon) advance(t time.Time) {
	d.eventTime.Store(t.UnixNano())
	if d.doors.due(t) {
		d.refreshDoors(t)
	}
	if t.Sub(d.lastTick) >= expireInterval {
		d.tick(t)
		d.lastTick = t
	}
}

// tick is the once-a-second work on the owner's state at now:
// the doors' sources asked again when one said its answer changes,
// attempts past their timeout dropped, idle music sources forgotten.
func (d *Daemon) tick(now time.Time) {
	if d.doors.due(now) {
		d.refreshDoors(now)
	}
	d.matcher.Expire(now)
	if d.doors.messages != nil {
		for _, drop := range d.doors.messages.tick(now) {
			if drop.strays > 0 {
				d.log.Info("daemon: knocks in a message door's range that read as no message (a scan or a flood; or a message under another key, or from a clock off by more than the skew)",
					"door", drop.door, "attempts", drop.strays)
				continue
			}
			d.log.Warn("daemon: message not delivered", "door", drop.door, "src", drop.Src.WithZone(""), "knocks", drop.Knocks, "reason", drop.Reason)
			d.record("message dropped", drop.door, drop.Src, drop.Reason)
		}
	}
	if d.music != nil {
		// The music doors' times are on the daemon's clock, even when a
		// file's times drive the doors.
		d.music.m.Tick(d.opts.Clock.Now())
	}
}

// refreshDoors asks the sources for their sequences at now and
// gives the changes to the matcher and the kernel filter.
func (d *Daemon) refreshDoors(now time.Time) {
	old := d.doors.doors
	d.doors.expand(d.cfg.Doors, now, d.sourceEnv().Log)
	if d.doors.install(d.matcher, old) && filterSteps(old) != filterSteps(d.doors.doors) {
		d.applyFilter()
	}
}

// sourceEnv is what the doors' sources get from the daemon.
func (d *Daemon) sourceEnv() source.Env {
	env := source.Env{Log: func(level slog.Level, msg string, args ...any) {
		d.log.Log(context.Background(), level, "daemon: "+msg, args...)
	}}
	if d.replayCache != nil {
		env.Replay = d.replayFor(d.replayCache)
	}
	if d.fleet != nil {
		env.FleetUsers = d.fleet.fleetUsers
	}
	return env
}

// replayCacheFile is the replay cache's name in the state directory.
const replayCacheFile = "replay.cache"

// openReplayCache opens the replay cache in cfg's state directory when
// some door of cfg needs one; the one open already when it is the same
// file.
func (d *Daemon) openReplayCache(cfg *config.Config) (*replaycache.Cache, error) {
	_, songs := cfg.Music.SongDoor()
	if !songs && !slices.ContainsFunc(cfg.Doors, func(door knock.Door) bool { return door.Rotating != nil }) {
		return d.replayCache, nil
	}
	path := filepath.Join(cfg.StateDir, replayCacheFile)
	if d.replayCache != nil && d.replayCachePath == path {
		return d.replayCache, nil
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("daemon: state directory: %w", err)
	}
	c, notes, err := replaycache.Open(path, replaycache.Options{Now: d.now})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	for _, n := range notes {
		d.log.Warn("daemon: replay cache: "+n, "file", path)
	}
	d.replayCachePath = path
	return c, nil
}

// logOpened logs a door opening: in knockd's words when the log is in
// knockd's format (the last stage before it came from
// logKnockdProgress, as in knockd).
func (d *Daemon) logOpened(m match.Match, user string) {
	src := m.Src.WithZone("")
	if d.knockdLog {
		d.log.Info(fmt.Sprintf("%s: %s: OPEN SESAME", src, m.Name))
		return
	}
	d.log.Info("daemon: door opened", withUser([]any{"door", m.Name, "src", src}, user)...)
}

// withUser adds the user whose key opened a door (user_keys) to a log
// line's attributes; nothing for a door without users.
// refuse says that door did nothing for src, and why (err): logged as
// what (naming the user whose key it was, if any), counted, recorded
// for the status page, and, when replay is set (err is a replay refused),
// appended to the fleet's audit chain.
func (d *Daemon) refuse(what, door string, src netip.Addr, user string, err error, replay bool) {
	src = src.WithZone("")
	d.log.Warn(what, withUser([]any{"door", door, "src", src, "reason", err}, user)...)
	d.refused++
	d.record("refused", door, src, err.Error())
	if replay && d.fleet != nil {
		d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditReplayRefused, Door: door, Addr: src.String(), User: user, Detail: err.Error()})
	}
}

func withUser(attrs []any, user string) []any {
	if user == "" {
		return attrs
	}
	return append(attrs, "user", user)
}

// onProgress hears the matcher's attempts, on the owner (from Handle or
// Expire): it counts each door's matched knocks and, in knockd's log
// format, writes knockd's lines for them.
func (d *Daemon) onProgress(p match.Progress) {
	if p.Kind == match.StageReached {
		d.doorKnocks[p.Name]++
	}
	if d.knockdLog {
		d.logKnockdProgress(p)
	}
}

// logKnockdProgress writes knockd's lines for an attempt's stages and
// timeouts. knockd logs nothing when an attempt is reset.
func (d *Daemon) logKnockdProgress(p match.Progress) {
	src := p.Src.WithZone("")
	switch p.Kind {
	case match.StageReached:
		d.log.Info(fmt.Sprintf("%s: %s: Stage %d", src, p.Name, p.Stage))
	case match.AttemptExpired:
		d.log.Info(fmt.Sprintf("%s: %s: sequence timeout (stage %d)", src, p.Name, p.Stage))
	}
}

// currentFilter is the capture filter for the current doors and addresses.
func (d *Daemon) currentFilter() capture.Filter {
	return filterFor(d.cfg, d.doors.doors, d.local.Load(), d.opts.OnlyIPv4)
}

// applyFilter gives the capture the filter for the current state.
func (d *Daemon) applyFilter() {
	f := d.currentFilter()
	if err := d.capt.Load().SetFilter(f); err != nil {
		d.log.Error("daemon: cannot update the capture filter; knocks on new ports may be missed", "err", err)
	}
}

// ticker asks the owner for its tick (expire attempts, forget idle music
// sources, ask the doors' sources), follows the host's addresses and
// reports kernel drops, once a second. The I/O (listing the addresses,
// reading the capture's counters) is done here, off the owner.
//
// While nothing is happening it sleeps: once a tick finds the owner at
// rest (atRest) it arms no timer, only one for the doors' next change if
// they have one, until the capture's next knock kicks it (kickTicker).
// An idle daemon then wakes for nothing. It rests only where the kernel
// tells it of address changes (watchAddrs): elsewhere it lists them every
// second. addrs and watched are watchAddrs's answer.
func (d *Daemon) ticker(ctx context.Context, q *eventQueue, addrs <-chan struct{}, watched bool) {
	due := make(chan struct{}, 1)
	arm := func(after time.Duration) clock.Timer {
		return d.opts.Clock.AfterFunc(after, func() { notify(due) })
	}
	t := arm(expireInterval)
	defer func() { t.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case _, open := <-addrs:
			d.refreshLocal()
			if !open {
				// The watch is gone: list the addresses every second
				// from now on, so stop resting (no knock may come to
				// wake the ticker: the filter is built from them).
				addrs, watched = nil, false
				d.resting.Store(false)
				t.Stop()
				t = arm(expireInterval)
			}
			continue
		case <-d.kick:
			// A knock after a rest: tick again a second from now.
			t.Stop()
			t = arm(expireInterval)
			continue
		case <-due:
		}
		// Resting from now on, should the owner say so: a knock from
		// now on kicks, and one queued before it looks is not at rest.
		d.resting.Store(watched)
		rest, next := false, time.Time{}
		d.do(func() {
			d.tick(d.opts.Clock.Now())
			rest, next = d.atRest(q)
		})
		if !watched {
			d.refreshLocal()
		}
		d.reportDrops()
		if !watched || !rest {
			d.resting.Store(false)
			t = arm(expireInterval)
			continue
		}
		d.log.Debug(restMsg, "next_door_change", next)
		if !next.IsZero() {
			t = arm(max(next.Sub(d.opts.Clock.Now()), 0))
		}
	}
}

// restMsg is what the ticker logs, at debug level, when it starts resting.
const restMsg = "daemon: nothing to do: no tick until the next knock"

// atRest reports whether the once-a-second tick has nothing to do until
// the next knock — none is queued, no attempt is under way, no message
// door or music source awaits a timeout — and when the doors' sources
// change their answer by themselves (zero: never). Owner only.
func (d *Daemon) atRest(q *eventQueue) (rest bool, next time.Time) {
	rest = q.tail.Load() == q.head.Load() &&
		d.matcher.Stats().Tracked == 0 &&
		d.doors.messages == nil &&
		(d.music == nil || d.music.m.Resting())
	return rest, d.doors.next
}

// kickTicker wakes a resting ticker; the capture calls it with every
// knock, which costs an atomic load while the ticker is awake.
func (d *Daemon) kickTicker() {
	if d.resting.Load() && d.resting.CompareAndSwap(true, false) {
		notify(d.kick)
	}
}

// captureOptions are the Options of every capture the daemon opens.
func (d *Daemon) captureOptions() capture.Options {
	return capture.Options{Logger: d.log, Clock: d.opts.Clock}
}

// refreshLocal looks at the host's addresses again and updates the
// filter when they changed (DHCP, an interface that came up).
func (d *Daemon) refreshLocal() {
	local, err := capture.LocalAddrs()
	if err != nil {
		d.log.Warn("daemon: cannot list this host's addresses; keeping the last list", "err", err)
		return
	}
	if slices.Equal(local, d.local.Load().list) {
		return
	}
	d.log.Info("daemon: this host's addresses changed", "addresses", local)
	d.do(func() {
		d.local.Store(newAddrSet(local))
		d.applyFilter()
	})
}

func (d *Daemon) reportDrops() {
	drops := d.capt.Load().Stats().Total().Drops
	if drops > d.drops {
		d.log.Warn("daemon: the kernel dropped packets: the capture could not keep up, knocks may be lost", "dropped", drops-d.drops, "total", drops)
		d.drops = drops
	}
}

func (d *Daemon) isLocal(a netip.Addr) bool {
	s := d.local.Load()
	_, ok := s.set[a.Unmap()]
	return ok || s.all
}

// shutdown stops what Run leaves running once capture has stopped.
func (d *Daemon) shutdown() error {
	// Capture, the owner and the reload loop have stopped: nothing else
	// uses the music doors now.
	var mp *musicPart
	d.do(func() { mp = d.music })
	if mp != nil {
		// Silence first: the stop commands may take a while.
		mp.halt()
		mp.closeSpeaker(d.log)
	}
	if d.fleet != nil {
		// The uses the fleet is deciding queue their commands before
		// the runner stops (stop commands first, as ever).
		d.fleet.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := d.runner.Shutdown(ctx); err != nil {
		d.log.Error("daemon: stop commands did not all run", "err", err)
		errs = append(errs, err)
	}
	if d.fleet != nil {
		d.fleet.close()
	}
	d.fw.close() // the openings already queued reach the firewall
	if mp != nil {
		mp.closePools(d.log)
	}
	d.do(func() {
		if d.replayCache != nil {
			d.replayCache.Close()
		}
	})
	d.log.Info("daemon: stopped", d.Stats().logAttrs()...)
	if d.pid != nil {
		if err := d.pid.remove(); err != nil {
			d.log.Warn("daemon: " + err.Error())
		}
	}
	if d.logs != nil {
		d.logs.close()
	}
	return errors.Join(errs...)
}

// silence stops the song playing, if any, leaving the speaker silent.
// Knocks still arriving are appended as usual; a play knock is queued and
// stays archived, unplayed, when the daemon stops.
func (d *Daemon) silence() {
	d.do(func() {
		if d.music != nil {
			d.music.halt()
		}
	})
}

// warnIfIdle says so when no knock can do anything: every door disabled
// (one-time files used up) and the music doors off. It runs on the owner.
func (d *Daemon) warnIfIdle() {
	if len(d.currentFilter().Rules) == 0 {
		d.log.Warn("daemon: no door can open and the music doors are off: nothing to listen for until a reload")
	}
}

// logDisabled says which doors cannot open and why, and what else in the
// config needs the administrator's eye (cfg.Warnings).
func (d *Daemon) logDisabled(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		d.log.Warn("daemon: " + w)
	}
	for _, dd := range cfg.Disabled {
		d.log.Warn("daemon: door disabled", "door", dd.Door.Name, "reason", dd.Reason)
	}
}

// Stats are the daemon's counters, as their owners keep them; counters.go
// names them for /metrics and the shutdown line.
type Stats struct {
	Knocks   uint64           // events the owner took: knocks on some door's or music port
	Refused  uint64           // completed sequences a door's source refused: replays
	Capture  capture.Counters // the capture's, live or from the --replay file
	Match    match.Stats
	Music    music.Stats // zero when the music doors are off
	Commands command.Stats
	Firewall FirewallStats
	// RateLimited counts knocks dropped by rate_limit.
	RateLimited uint64
	// DoorKnocks counts, by door name, the knocks that matched a step.
	DoorKnocks map[string]uint64
	// InterfacesUp is the number of capture interfaces up now.
	InterfacesUp int
	// Messages are the message doors' counters, summed.
	Messages message.Stats
	// Fleet is zero without a [cluster] table.
	Fleet FleetStats
}

// Stats returns the counters so far. It may be called from any
// goroutine; the owner answers between two knocks.
func (d *Daemon) Stats() Stats {
	s := Stats{Knocks: d.handled.Load(), Commands: d.runner.Stats(), Firewall: d.fw.stats(), Fleet: d.fleet.stats()}
	cs := d.capt.Load().Stats()
	s.Capture = cs.Total()
	for _, ifc := range cs.Interfaces {
		if ifc.Up {
			s.InterfacesUp++
		}
	}
	d.do(func() {
		s.Match = d.matcher.Stats()
		s.Refused = d.refused
		s.RateLimited = d.rateLimited
		s.DoorKnocks = maps.Clone(d.doorKnocks)
		s.Messages = d.doors.messages.stats()
		if d.music != nil {
			s.Music = d.music.m.Stats()
		}
	})
	return s
}

// interfaces is the capture's interface list for cfg.
func interfaces(cfg *config.Config) []string {
	if len(cfg.Interfaces) == 0 {
		return []string{capture.Any}
	}
	return cfg.Interfaces
}

// An addrSet is the host's addresses, as a list and as a set for the
// matcher's allocation-free lookup; or, with all, every address (a file's
// capture: the file was captured on the host whose knocks it holds).
type addrSet struct {
	list []netip.Addr
	set  map[netip.Addr]struct{}
	all  bool
}

func newAddrSet(list []netip.Addr) *addrSet {
	s := &addrSet{list: list, set: make(map[netip.Addr]struct{}, len(list))}
	for _, a := range list {
		s.set[a] = struct{}{}
	}
	return s
}

// newLimiter is the rate limit cfg asks for, or nil for none.
func newLimiter(cfg *config.Config) *ratelimit.Limiter {
	if cfg.RateLimit <= 0 {
		return nil
	}
	burst := cfg.RateBurst
	if burst <= 0 {
		burst = cfg.RateLimit
	}
	return ratelimit.New(float64(cfg.RateLimit), burst)
}
