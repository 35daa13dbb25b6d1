package music

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/sequence"
)

// A Player plays one song and returns when it has finished. The daemon
// adapts beeper.Player to it. wavPath is the WAV file the song was written
// to when the speaker is a WAV speaker, "" otherwise; Options.WAVFiles
// says what Music does with it. Play is called from Run's goroutine only,
// one song at a time.
type Player interface {
	Play(ctx context.Context, name string, tones []sequence.Tone) (wavPath string, err error)
}

// WAVFiles says whose the WAV files a Player writes are, and so how a
// song's WAV gets beside its archived pool (played/TIME_ADDR.wav).
type WAVFiles uint8

const (
	// MoveWAV moves the file: it is Music's own, written where nobody
	// asked for it (speaker auto's fallback, under the state directory).
	MoveWAV WAVFiles = iota
	// LinkWAV leaves the file where the speaker wrote it, one file per
	// song (speaker wav:DIRECTORY, which the user will look into), and
	// hard-links it beside the pool, or copies it where a link cannot be
	// made (another file system).
	LinkWAV
	// CopyWAV leaves the file, which the next song rewrites in place
	// (speaker wav:FILE.wav), and copies it beside the pool: a link would
	// be rewritten with it.
	CopyWAV
)

func (w WAVFiles) String() string {
	switch w {
	case MoveWAV:
		return "moved"
	case LinkWAV:
		return "linked"
	case CopyWAV:
		return "copied"
	}
	return fmt.Sprintf("WAVFiles(%d)", uint8(w))
}

// syncInterval is how often the pools written to since the last fsync are
// fsynced: a power loss loses at most this much of what was knocked in.
const syncInterval = time.Second

// Options configure Music. Protocol, StateDir, MaxPoolSteps, MaxPools,
// RefusalLogInterval and Player are required; the config package holds
// their defaults.
type Options struct {
	Protocol sequence.Protocol
	// StateDir holds pools/ (one pool per source), music.pool (Shared)
	// and played/ (archived songs). It is created if missing.
	StateDir string
	// Shared puts every source's knocks in one pool, STATE_DIR/music.pool,
	// as in the original protocol.
	Shared bool
	// MaxPoolSteps is the most steps one pool holds; more are refused.
	MaxPoolSteps int
	// MaxPools is the most sources that may have a pool (or a pitch) at
	// once; a new source beyond it is refused until a pool is played or
	// a source is forgotten (PoolIdleTimeout).
	MaxPools int
	// Allow lists the source networks whose knocks compose music; empty
	// allows every source.
	Allow []netip.Prefix
	// QueueLen is how many songs may wait while one plays; a play beyond
	// it is refused and the pool kept.
	QueueLen int
	// RefusalLogInterval is the least time between two log lines about
	// refusals of one reason and source; the refusals between are counted.
	RefusalLogInterval time.Duration
	// KeepPlayed is how many played songs (pool and WAV) played/ keeps:
	// after each song the oldest beyond it are deleted. 0 keeps none: a
	// song's files go once it has played (its beep arguments stay in the
	// log).
	KeepPlayed int
	// KeepPlayedBytes bounds the size of the songs played/ keeps in the
	// same way; 0 keeps none.
	KeepPlayedBytes int64
	// PoolIdleTimeout is how long a source may knock nothing before Tick
	// forgets it: its pitch, and its pool, unplayed, deleted. That frees
	// its place under MaxPools, which spoofed knocks would otherwise hold
	// for ever. 0 never forgets. Shared mode's one pool is never forgotten.
	PoolIdleTimeout time.Duration
	// WAVFiles says what becomes of the WAV file a song was written to:
	// moved beside its archived pool (the zero value), or left where the
	// speaker wrote it and linked or copied there.
	WAVFiles WAVFiles
	Player   Player
	// Logger receives knocks refused, songs played and pool warnings; nil
	// discards them.
	Logger *slog.Logger
	// Clock names archived songs, spaces out refusal log lines and times
	// the periodic fsync; nil means clock.System().
	Clock clock.Clock
}

// Stats count what Music did since New.
type Stats struct {
	Knocks     uint64 // packets to a music port
	Ignored    uint64 // to a music port but not a knock: a TCP packet other than a SYN without ACK
	Steps      uint64 // steps appended to a pool
	Pitches    uint64 // pitch knocks that set a pool's pitch
	Plays      uint64 // songs queued to play
	Played     uint64 // songs the player finished
	PlayErrors uint64 // songs the player failed or stopped
	Syncs      uint64 // pool fsyncs
	DirSyncs   uint64 // fsyncs of a directory a pool was created in
	Deleted    uint64 // played songs deleted to stay within KeepPlayed and KeepPlayedBytes
	Forgotten  uint64 // sources forgotten after PoolIdleTimeout without a knock
	Discarded  uint64 // pools of forgotten sources, deleted unplayed
	Refused    Refusals
	Pools      int // sources with a pool or a pitch now (or 1 in shared mode once knocked)
	Queued     int // songs waiting to play
}

// Refusals count knocks that did nothing, by reason. Each is also logged,
// at most once per reason and source and 10 times per reason per
// Options.RefusalLogInterval.
type Refusals struct {
	NotAllowed   uint64 // source outside Options.Allow
	TooManyPools uint64 // new source while Options.MaxPools sources have state
	PoolFull     uint64 // step beyond Options.MaxPoolSteps
	QueueFull    uint64 // play while Options.QueueLen songs wait
	EmptyPlay    uint64 // play on an empty pool
	WriteError   uint64 // the pool file could not be created, appended to or archived
}

// A source is the music state of one knocking address (or of everyone, in
// shared mode): its pool, created at its first step, and its pitch.
type source struct {
	addr    netip.Addr
	pool    *pool
	freq    float64   // set by a pitch knock; 0 until then: the protocol's DefaultFreq
	touched time.Time // its last step or pitch knock; for a pool loaded at start, the file's mtime
}

// pitch is the frequency of s's tone knocks: its last pitch knock's, else
// the protocol's default.
func (s *source) pitch(p sequence.Protocol) float64 {
	if s.freq == 0 {
		return p.DefaultFreq
	}
	return s.freq
}

// A pool is an open pool file with what the fsync goroutine needs to know.
type pool struct {
	*poolFile
	dirty   atomic.Bool // appended to since the last fsync
	closed  atomic.Bool // archived and closed by Run
	created atomic.Bool // the file is new: its directory needs an fsync too
}

// A song is an archived pool waiting to play.
type song struct {
	name    string // the archive's file name without ".pool"; the player's song name
	src     netip.Addr
	archive string // where the pool file now is
	pool    *pool  // still open on the archived file; Run closes it; nil for tones
	dirs    []string
	// tones, for a song that was no pool (a message played as Morse
	// code): played as they are; its archive path names no file, only
	// where its WAV goes.
	tones []sequence.Tone
	// start, when set, is the instant on Options.Clock the song starts
	// (an orchestra's cue): Run waits for it before playing.
	start time.Time
}

// Music turns the knocks of the music protocol into pools and songs. See
// the package documentation for who calls what.
type Music struct {
	stateDir     string
	proto        sequence.Protocol
	poolDir      string
	playedDir    string
	shared       bool
	sharedAt     string // STATE_DIR/music.pool
	maxPoolSteps int
	maxPools     int
	allow        []netip.Prefix
	queueLen     int
	idle         time.Duration // PoolIdleTimeout
	wavFiles     WAVFiles
	player       Player
	log          *slog.Logger
	clock        clock.Clock

	// Owned by the Handle goroutine.
	sources  map[netip.Addr]*source // every source in per-source mode; the zero Addr in shared mode
	refusals *refusalLog

	// archiving is held by Handle from a song's move into played/ until
	// it is queued, and by Run while it prunes played/: a prune must not
	// take a song that is arriving for one already played.
	archiving sync.Mutex

	// Shared by Handle, Run, the fsync goroutine and Close.
	mu              sync.Mutex
	keepPlayed      int   // set by Reload, read by Run
	keepPlayedBytes int64 // likewise
	queue           []*song
	playing         bool
	dirty           []*pool
	wake            chan struct{} // a song was queued
	syncDue         chan struct{} // syncInterval has passed
	syncWanted      chan struct{} // a pool was written to: arm the sync timer

	knocks, ignored, steps, pitches, plays, played, playErrors, syncs, dirSyncs, deleted atomic.Uint64
	forgotten, discarded                                                                 atomic.Uint64
	refused                                                                              [numRefusals]atomic.Uint64
	pools                                                                                atomic.Int64
}

// New checks opts, creates the state directory's pools/ and played/, and
// loads the pools already there, so a restart loses nothing stored. A torn
// last line (a crash mid-write) is dropped with a warning; a pool that
// cannot be read at all is moved aside (renamed *.pool.unreadable) with an
// error in the log, and its source starts afresh.
func New(opts Options) (*Music, error) {
	if err := checkSettings(opts); err != nil {
		return nil, err
	}
	switch {
	case opts.StateDir == "":
		return nil, errors.New("music: no state directory: set [daemon] state_dir or --state-dir")
	case opts.Player == nil:
		return nil, errors.New("music: no player")
	case opts.WAVFiles > CopyWAV:
		return nil, fmt.Errorf("music: unknown WAVFiles %d", opts.WAVFiles)
	}
	m := &Music{
		stateDir:        opts.StateDir,
		proto:           opts.Protocol,
		poolDir:         filepath.Join(opts.StateDir, "pools"),
		playedDir:       filepath.Join(opts.StateDir, "played"),
		shared:          opts.Shared,
		sharedAt:        filepath.Join(opts.StateDir, "music.pool"),
		maxPoolSteps:    opts.MaxPoolSteps,
		maxPools:        opts.MaxPools,
		allow:           opts.Allow,
		queueLen:        opts.QueueLen,
		idle:            opts.PoolIdleTimeout,
		wavFiles:        opts.WAVFiles,
		player:          opts.Player,
		log:             opts.Logger,
		clock:           opts.Clock,
		sources:         make(map[netip.Addr]*source),
		keepPlayed:      opts.KeepPlayed,
		keepPlayedBytes: opts.KeepPlayedBytes,
		wake:            make(chan struct{}, 1),
		syncDue:         make(chan struct{}, 1),
		syncWanted:      make(chan struct{}, 1),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = clock.System()
	}
	m.refusals = newRefusalLog(m.log, opts.RefusalLogInterval)
	for _, dir := range []string{opts.StateDir, m.poolDir, m.playedDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("music: creating the state directory: %w", err)
		}
	}
	if err := m.loadPools(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// checkSettings checks the options Reload can change.
func checkSettings(opts Options) error {
	if err := opts.Protocol.Validate(); err != nil {
		return fmt.Errorf("music: %w", err)
	}
	switch {
	case opts.MaxPoolSteps < 1:
		return fmt.Errorf("music: max steps %d: must be at least 1", opts.MaxPoolSteps)
	case opts.MaxPools < 1:
		return fmt.Errorf("music: max pools %d: must be at least 1", opts.MaxPools)
	case opts.QueueLen < 0:
		return fmt.Errorf("music: queue length %d: must be 0 or more", opts.QueueLen)
	case opts.RefusalLogInterval <= 0:
		return fmt.Errorf("music: refusal log interval %v: must be more than 0", opts.RefusalLogInterval)
	case opts.KeepPlayed < 0:
		return fmt.Errorf("music: keep played %d: must be 0 or more", opts.KeepPlayed)
	case opts.KeepPlayedBytes < 0:
		return fmt.Errorf("music: keep played bytes %d: must be 0 or more", opts.KeepPlayedBytes)
	case opts.PoolIdleTimeout < 0:
		return fmt.Errorf("music: pool idle timeout %v: must be 0 (never) or more", opts.PoolIdleTimeout)
	}
	return nil
}

// Reload puts opts' Protocol, MaxPoolSteps, MaxPools, Allow, QueueLen,
// RefusalLogInterval, KeepPlayed, KeepPlayedBytes and PoolIdleTimeout in
// force in place (a SIGHUP; the played songs are pruned to the new limits
// after the next song): the pools, the pitches
// set and the songs queued stay, and the next knock obeys the new
// settings. A source that never knocked a pitch follows a new DefaultFreq;
// pools holding more steps than a lower MaxPoolSteps keep them and take no
// more; sources beyond a lower MaxPools keep their pools. StateDir and
// Shared cannot change in place (make a new Music for them), and Player,
// WAVFiles, Logger and Clock stay those given to New. On an error nothing changes.
// Call it from the goroutine that calls Handle, or while no Handle runs.
func (m *Music) Reload(opts Options) error {
	if err := checkSettings(opts); err != nil {
		return err
	}
	if opts.StateDir != m.stateDir || opts.Shared != m.shared {
		return fmt.Errorf("music: the state directory (%s, shared %v) cannot change in place to %s (shared %v)",
			m.stateDir, m.shared, opts.StateDir, opts.Shared)
	}
	m.proto = opts.Protocol
	m.maxPoolSteps = opts.MaxPoolSteps
	m.maxPools = opts.MaxPools
	m.allow = opts.Allow
	m.queueLen = opts.QueueLen
	m.idle = opts.PoolIdleTimeout
	m.refusals.interval = opts.RefusalLogInterval
	m.mu.Lock()
	m.keepPlayed, m.keepPlayedBytes = opts.KeepPlayed, opts.KeepPlayedBytes
	m.mu.Unlock()
	return nil
}

// Handle acts on ev if it is a music knock and reports whether its port is
// one of the protocol's (then no other door should see it). It appends a
// step, sets the pitch or queues a song, in the order the calls come: call
// it from one goroutine only, the daemon's owner goroutine. It never
// waits for playback and never fsyncs; its cost is one write(2) per step,
// a rename per play and, when a source's pool is created, creating the
// file and reading it back.
//
// A knock is a TCP packet with SYN set and ACK clear (what the knock client
// and a connect() send) or a UDP datagram (knock -u); other packets to a
// music port are counted as ignored.
func (m *Music) Handle(ev *knock.Event) bool {
	k, ok := m.proto.Classify(ev.Port)
	if !ok {
		return false
	}
	m.knocks.Add(1)
	if !ev.IsKnock() {
		m.ignored.Add(1)
		return true
	}
	src := ev.Src.WithZone("")
	now := m.clock.Now()
	if !m.allowed(src) {
		m.refuse(now, refusedNotAllowed, src)
		return true
	}
	m.apply(now, src, k)
	return true
}

// HandleSong acts on a song that arrived whole as one verified frame (the
// music doors under a secret, package message): its knocks, in order, go
// into src's pool as if each had been knocked, and then it plays. Like
// Handle, it runs on the owner goroutine only.
func (m *Music) HandleSong(src netip.Addr, knocks []sequence.Knock) {
	src = src.WithZone("")
	now := m.clock.Now()
	if !m.allowed(src) {
		m.refuse(now, refusedNotAllowed, src)
		return
	}
	// One refusal for the song, not one per knock, when src may not
	// have a pool (too many pools already).
	if m.source(now, src) == nil {
		return
	}
	for _, k := range knocks { // UnpackKnocks gives no play knock: the song plays below
		m.apply(now, src, k)
	}
	m.play(now, src)
}

// apply does what the knock k of src's does.
func (m *Music) apply(now time.Time, src netip.Addr, k sequence.Knock) {
	switch k.Kind {
	case sequence.KnockTone, sequence.KnockSilence:
		s := m.source(now, src)
		if s == nil {
			return
		}
		step := sequence.PoolStep{Kind: sequence.StepSilence, Length: m.proto.Step}
		if k.Kind == sequence.KnockTone {
			step = sequence.PoolStep{Kind: sequence.StepTone, Freq: s.pitch(m.proto), Length: m.proto.Step}
		}
		m.appendSteps(now, src, s, step)
	case sequence.KnockNote:
		s := m.source(now, src)
		if s == nil {
			return
		}
		steps, n := m.proto.NoteSteps(k, sequence.NearestNote(s.pitch(m.proto)))
		if n == 0 {
			m.ignored.Add(1)
			return
		}
		m.appendSteps(now, src, s, steps[:n]...)
	case sequence.KnockPitch:
		if s := m.source(now, src); s != nil {
			s.freq = sequence.NoteFreq(int(k.Note))
			m.pitches.Add(1)
		}
	case sequence.KnockPlay:
		m.play(now, src)
	}
}

// allowed reports whether src may compose. An IPv4 network also admits
// the IPv4-mapped IPv6 form of its addresses.
func (m *Music) allowed(src netip.Addr) bool {
	if len(m.allow) == 0 {
		return true
	}
	unmapped := src.Unmap()
	for _, p := range m.allow {
		if p.Contains(src) || p.Contains(unmapped) {
			return true
		}
	}
	return false
}

func (m *Music) refuse(now time.Time, r refusal, src netip.Addr, attrs ...any) {
	m.refused[r].Add(1)
	m.refusals.refuse(now, r, src, attrs...)
}

// key is the sources map key of src's state.
func (m *Music) key(src netip.Addr) netip.Addr {
	if m.shared {
		return netip.Addr{}
	}
	return src
}

// source returns src's state, making it if there is room; nil means the
// knock was refused.
func (m *Music) source(now time.Time, src netip.Addr) *source {
	key := m.key(src)
	if s := m.sources[key]; s != nil {
		s.touched = now
		return s
	}
	if len(m.sources) >= m.maxPools {
		m.refuse(now, refusedTooManyPools, src, "pools", len(m.sources))
		return nil
	}
	s := &source{addr: key, touched: now}
	m.sources[key] = s
	m.pools.Store(int64(len(m.sources)))
	return s
}

// appendSteps appends what one knock adds to s's pool: all of it or,
// when the pool is full, none, so that a note never arrives without its
// rest.
func (m *Music) appendSteps(now time.Time, src netip.Addr, s *source, steps ...sequence.PoolStep) {
	if s.pool == nil {
		p, warnings, err := m.createPool(s.addr)
		for _, w := range warnings {
			m.log.Warn("music: pool: "+w, "src", src, "path", m.poolPath(s.addr))
		}
		if err != nil {
			m.refuse(now, refusedWriteError, src, "err", err)
			return
		}
		s.pool = p
	}
	n := s.pool.Len()
	if n+len(steps) > m.maxPoolSteps {
		m.refuse(now, refusedPoolFull, src, "steps", n)
		return
	}
	for _, step := range steps {
		if err := s.pool.Append(step); err != nil {
			m.refuse(now, refusedWriteError, src, "err", err)
			return
		}
		m.steps.Add(1)
	}
	if s.pool.dirty.CompareAndSwap(false, true) {
		m.mu.Lock()
		m.dirty = append(m.dirty, s.pool)
		m.mu.Unlock()
		select {
		case m.syncWanted <- struct{}{}:
		default: // the fsync goroutine has been told already
		}
	}
}

// play archives src's pool under played/ and queues it for Run; src starts
// a new pool at its next step, at the default pitch. A play the queue has
// no room for is refused and the pool kept, to be played later.
func (m *Music) play(now time.Time, src netip.Addr) {
	m.playAt(now, src, time.Time{})
}

// Plays is the number of songs queued to play so far (Stats().Plays), in
// one atomic load: the owner compares it around Handle to learn whether a
// knock queued a song.
func (m *Music) Plays() uint64 { return m.plays.Load() }

// PlayAt plays src's pool as a play knock does, but starting at start on
// Options.Clock (an orchestra's cue): the player waits for that instant,
// and logs it and the instant it began the song ("music: started"). It
// reports whether a song was queued; an empty pool, a full queue or a
// source not allowed is refused and logged as for a play knock. Like
// Handle, it runs on the owner goroutine only.
func (m *Music) PlayAt(now time.Time, src netip.Addr, start time.Time) bool {
	src = src.WithZone("")
	if !m.allowed(src) {
		m.refuse(now, refusedNotAllowed, src)
		return false
	}
	return m.playAt(now, src, start)
}

// HasPool reports whether src has a pool with steps in it, to play.
func (m *Music) HasPool(src netip.Addr) bool {
	return m.withPool(m.key(src.WithZone(""))) != nil
}

// withPool is the source of key if its pool holds a step, else nil.
func (m *Music) withPool(key netip.Addr) *source {
	if s := m.sources[key]; s != nil && s.pool != nil && s.pool.Len() > 0 {
		return s
	}
	return nil
}

func (m *Music) playAt(now time.Time, src netip.Addr, start time.Time) bool {
	key := m.key(src)
	s := m.withPool(key)
	if s == nil {
		m.refuse(now, refusedEmptyPlay, src)
		return false
	}
	if !m.roomToPlay() {
		m.refuse(now, refusedQueueFull, src, "queue", m.queueLen)
		return false
	}
	m.archiving.Lock()
	defer m.archiving.Unlock()
	archive, name, err := m.archive(now, src, s.pool.Path())
	if err != nil {
		m.refuse(now, refusedWriteError, src, "err", err)
		return false
	}
	delete(m.sources, key)
	m.pools.Store(int64(len(m.sources)))
	m.plays.Add(1)
	attrs := []any{"src", src, "steps", s.pool.Len(), "archive", archive}
	if !start.IsZero() { // an orchestra's cue
		attrs = append(attrs, "start_unix_ns", strconv.FormatInt(start.UnixNano(), 10))
	}
	m.log.Info("music: song queued", attrs...)
	m.enqueue(&song{name: name, src: src, archive: archive, pool: s.pool,
		dirs: []string{filepath.Dir(s.pool.Path()), m.playedDir}, start: start})
	return true
}

// PlayTones queues tones as a song of src's (a message door's text played
// as Morse code, say). It has no pool: nothing is archived but the WAV
// the speaker writes, under played/ beside the songs. It reports false,
// logging why, when the queue has no room.
func (m *Music) PlayTones(now time.Time, src netip.Addr, tones []sequence.Tone) bool {
	if !m.roomToPlay() {
		m.refuse(now, refusedQueueFull, src, "queue", m.queueLen)
		return false
	}
	m.archiving.Lock()
	defer m.archiving.Unlock()
	name, err := m.freeName(now, src)
	if err != nil {
		m.refuse(now, refusedWriteError, src, "err", err)
		return false
	}
	m.plays.Add(1)
	m.log.Info("music: tones queued", "src", src, "tones", len(tones), "song", name)
	m.enqueue(&song{name: name, src: src, archive: filepath.Join(m.playedDir, name+poolExt), tones: tones})
	return true
}

// Close fsyncs and closes every pool, those of songs still queued
// included, and the directories of pools created since the last periodic
// sync; the archives of queued songs stay under played/, unplayed. Call it
// after the last Handle and after Run has returned.
func (m *Music) Close() error {
	var errs []error
	dirs := make(map[string]bool)
	for _, s := range m.sources {
		if s.pool != nil {
			errs = append(errs, s.pool.Close())
			if s.pool.created.Load() {
				dirs[filepath.Dir(s.pool.Path())] = true
			}
		}
	}
	for dir := range dirs {
		errs = append(errs, syncDir(dir))
	}
	m.mu.Lock()
	queued := m.queue
	m.queue = nil
	m.mu.Unlock()
	for _, sg := range queued {
		m.log.Warn("music: song not played: the daemon stopped first", "src", sg.src, "archive", sg.archive)
		if sg.pool != nil {
			errs = append(errs, sg.pool.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("music: closing pools: %w", err)
	}
	return nil
}

// Stats returns the counters so far. It may be called from any goroutine.
func (m *Music) Stats() Stats {
	m.mu.Lock()
	queued := len(m.queue)
	m.mu.Unlock()
	return Stats{
		Knocks:     m.knocks.Load(),
		Ignored:    m.ignored.Load(),
		Steps:      m.steps.Load(),
		Pitches:    m.pitches.Load(),
		Plays:      m.plays.Load(),
		Played:     m.played.Load(),
		PlayErrors: m.playErrors.Load(),
		Syncs:      m.syncs.Load(),
		DirSyncs:   m.dirSyncs.Load(),
		Deleted:    m.deleted.Load(),
		Forgotten:  m.forgotten.Load(),
		Discarded:  m.discarded.Load(),
		Refused: Refusals{
			NotAllowed:   m.refused[refusedNotAllowed].Load(),
			TooManyPools: m.refused[refusedTooManyPools].Load(),
			PoolFull:     m.refused[refusedPoolFull].Load(),
			QueueFull:    m.refused[refusedQueueFull].Load(),
			EmptyPlay:    m.refused[refusedEmptyPlay].Load(),
			WriteError:   m.refused[refusedWriteError].Load(),
		},
		Pools:  int(m.pools.Load()),
		Queued: queued,
	}
}
