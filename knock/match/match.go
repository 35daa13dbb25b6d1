package match

import (
	"context"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// DefaultMaxAttempts is the record cap used when Options.MaxAttempts is 0:
// about 5 MiB of state, far more than the knockers a host ever sees at once.
const DefaultMaxAttempts = 65536

// maxRecordsLimit bounds Options.MaxAttempts so that record indices fit in
// an int32 with room for the index table (2^24 records is over 1 GiB).
const maxRecordsLimit = 1 << 24

// Options tune a Matcher. The zero Options are usable.
type Options struct {
	// MaxAttempts caps the (source, door) records tracked: attempts in
	// progress plus cooldown holds. 0 (or less) means DefaultMaxAttempts;
	// values above 2^24 are lowered to it. The memory is taken by New.
	MaxAttempts int
	// IsLocal reports whether an address is one of this host's: doors
	// without Targets match only packets sent to such an address. nil
	// accepts every destination. It is called at most once per event, on
	// the capture path, so it must be quick and must not allocate.
	IsLocal func(netip.Addr) bool
	// Logger receives debug lines for every stage, reset and opening, and
	// a warning when records are evicted. nil discards. The debug lines
	// are for people: a program that wants an attempt's progress uses
	// OnProgress.
	Logger *slog.Logger
	// OnProgress, if not nil, is called for every step an attempt
	// matches, every attempt reset and every attempt that times out, at
	// the moment the Matcher sees it: synchronously from Handle (stages,
	// resets, and timeouts noticed at the source's next event) and from
	// Expire (timeouts). It is called on the capture path, so it must be
	// quick, and it must not call the Matcher. The Matcher itself
	// allocates nothing to make the call.
	OnProgress func(Progress)
}

// A ProgressKind says what happened to an attempt.
type ProgressKind uint8

const (
	// StageReached: the attempt matched one more step; Progress.Stage is
	// the steps matched now, from 1 to Of. At Of the sequence is complete
	// and a Match follows unless the door's cooldown suppresses it.
	StageReached ProgressKind = iota + 1
	// AttemptReset: a counted event that is not the next step (nor a
	// tolerated repeat) invalidated the attempt at Progress.Stage.
	AttemptReset
	// AttemptExpired: the door's timeout ended the attempt at
	// Progress.Stage, noticed by Expire or at the source's next event.
	AttemptExpired
)

func (k ProgressKind) String() string {
	switch k {
	case StageReached:
		return "stage reached"
	case AttemptReset:
		return "attempt reset"
	case AttemptExpired:
		return "attempt expired"
	}
	return "ProgressKind(" + strconv.Itoa(int(k)) + ")"
}

// A Progress is one step forward or the end of a source's attempt on a
// door, reported to Options.OnProgress.
type Progress struct {
	Kind  ProgressKind
	Door  int // index into the doors given to New, Reload
	Name  string
	Src   netip.Addr
	Stage int // steps matched: after this step (StageReached), or when the attempt ended
	Of    int // steps in the door's sequence
	// Event is the knock that made the step or the reset; the zero Event
	// for AttemptExpired, which no knock causes.
	Event knock.Event
}

// A Match is a door opened by a source: the knock that completed its
// sequence.
type Match struct {
	Door  int // index into the doors given to New, Reload
	Name  string
	Src   netip.Addr
	Event knock.Event
}

// Stats are the Matcher's counters since New.
type Stats struct {
	Tracked    int // records held now: attempts in progress and cooldown holds
	Capacity   int // the record cap
	Events     uint64
	Ignored    uint64 // events no door considers: port, protocol, TCP flags or destination
	Started    uint64 // attempts begun by a door's first step
	Reset      uint64 // attempts invalidated by another door port
	Expired    uint64 // attempts dropped past their timeout, lazily or by Expire
	Evicted    uint64 // records dropped to make room for a new attempt
	Opened     uint64 // Matches returned
	Suppressed uint64 // successes not returned because of the door's cooldown
}

// A Matcher follows knock attempts per (source, door) and reports the doors
// that open. It is not safe for concurrent use: one goroutine owns it and
// calls every method, as the daemon's capture loop does.
type Matcher struct {
	doors []compiledDoor
	// steps indexes doors by the (proto, port) of their steps; an event
	// whose step is absent concerns no door, unless it falls in the range
	// of one of ranged (rotating doors).
	steps  map[knock.Step]stepDoors
	ranged []int32
	// bound are the ranged doors whose sequence depends on the source
	// (knock.Door.PerSource), ascending; seqBuf holds one's sequence for
	// the event being handled.
	bound  []int32
	seqBuf []knock.Step

	recs  []record
	free  int32 // first free record, chained through record.next
	live  int
	ranks []rankList // eviction lists, see rankOf
	index sourceIndex

	isLocal    func(netip.Addr) bool
	dstMemo    int8 // IsLocal(event.Dst) for the current event: 0 unknown, 1 yes, -1 no
	log        *slog.Logger
	onProgress func(Progress)

	stats         Stats
	evictedLogged uint64
}

// compiledDoor is the matcher's copy of what a knock.Door says about matching.
type compiledDoor struct {
	name string
	seq  []knock.Step
	// perSource, when set, gives each source its sequence (seq is empty);
	// seqLen is the length of the door's sequences either way.
	perSource knock.SourceSequence
	seqLen    int
	flags     knock.FlagMatch
	timeout   int64 // ns; ≤ 0 means attempts never time out
	gap       bool  // timeout runs from the previous knock
	allowDup  bool
	cooldown  int64 // ns
	targets   []netip.Addr
	// from and until bound when an attempt may start (Unix ns, knock.Door's
	// Starts); until is math.MaxInt64 when unbounded.
	from, until int64
	// A rotating door's port range: every knock in it counts (resets the
	// source's attempts unless it is the next step), not only its steps.
	// rprotos is a bit set of protoBit; 0 when the door has no range.
	rlo, rhi uint16
	rprotos  uint8
}

// protoBit is p's bit in compiledDoor.rprotos.
func protoBit(p knock.Proto) uint8 {
	switch p {
	case knock.TCP:
		return 1
	case knock.UDP:
		return 2
	}
	return 0
}

type stepDoors struct {
	any   []int32 // doors with this step anywhere, ascending
	first []int32 // doors whose sequence starts with it, ascending
}

// A record is one source's state for one door: an attempt in progress
// (stage > 0), a cooldown hold after a success, or both.
type record struct {
	src   netip.Addr
	door  int32
	stage int32 // steps matched so far; 0 when no attempt is in progress
	// first and last are the times (Unix ns) of the attempt's first and
	// latest knock.
	first, last   int64
	cooling       bool // a success happened and its cooldown runs until cooldownUntil
	cooldownUntil int64
	nextOfSource  int32 // the source's next record, in door order
	rank          int32 // which rank list holds the record
	prev, next    int32 // rank list links; next also chains the free list
}

type rankList struct{ oldest, newest int32 }

// New returns a Matcher for doors, which it copies.
func New(doors []knock.Door, opts Options) *Matcher {
	maxRecords := opts.MaxAttempts
	if maxRecords <= 0 {
		maxRecords = DefaultMaxAttempts
	}
	maxRecords = min(maxRecords, maxRecordsLimit)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Matcher{
		recs:       make([]record, maxRecords),
		index:      newSourceIndex(maxRecords),
		isLocal:    opts.IsLocal,
		log:        log,
		onProgress: opts.OnProgress,
	}
	m.free = empty
	for i := maxRecords - 1; i >= 0; i-- {
		m.freeRecord(int32(i))
	}
	m.stats.Capacity = maxRecords
	m.setDoors(doors)
	return m
}

func (m *Matcher) setDoors(doors []knock.Door) {
	m.doors = make([]compiledDoor, len(doors))
	for i, d := range doors {
		m.doors[i] = compiledDoor{
			name:      d.Name,
			seq:       slices.Clone(d.Sequence),
			perSource: d.PerSource,
			seqLen:    len(d.Sequence),
			flags:     d.Flags,
			timeout:   int64(d.Timeout),
			gap:       d.TimeoutMode == knock.TimeoutGap,
			allowDup:  d.AllowDuplicates,
			cooldown:  int64(d.Cooldown),
			targets:   slices.Clone(d.Targets),
			from:      math.MinInt64,
			until:     math.MaxInt64,
		}
		if !d.Starts.From.IsZero() {
			m.doors[i].from = d.Starts.From.UnixNano()
		}
		if !d.Starts.Until.IsZero() {
			m.doors[i].until = d.Starts.Until.UnixNano()
		}
		if d.PerSource != nil {
			m.doors[i].seqLen = d.PerSource.Len()
		}
		if r := d.Rotating; r != nil {
			m.doors[i].rlo, m.doors[i].rhi = r.PortLo, r.PortHi
			for _, p := range r.RangeProtos() {
				m.doors[i].rprotos |= protoBit(p)
			}
		}
	}
	m.indexSteps()
}

// indexSteps rebuilds the step index and makes room for every stage in the
// rank lists. It allocates, so it runs only when doors change.
func (m *Matcher) indexSteps() {
	m.steps = make(map[knock.Step]stepDoors)
	m.ranged, m.bound = m.ranged[:0], m.bound[:0]
	longest := 1
	for i, d := range m.doors {
		if d.rprotos != 0 {
			m.ranged = append(m.ranged, int32(i))
			if d.perSource != nil {
				m.bound = append(m.bound, int32(i))
			}
		}
		longest = max(longest, d.seqLen)
		for j, s := range d.seq {
			sd := m.steps[s]
			if n := len(sd.any); n == 0 || sd.any[n-1] != int32(i) {
				sd.any = append(sd.any, int32(i))
			}
			if j == 0 {
				sd.first = append(sd.first, int32(i))
			}
			m.steps[s] = sd
		}
	}
	for len(m.ranks) < longest {
		m.ranks = append(m.ranks, rankList{empty, empty})
	}
	if cap(m.seqBuf) < longest {
		m.seqBuf = make([]knock.Step, 0, longest)
	}
}

// seqOf is door d's sequence for src: its own, or the one its PerSource
// gives src (in m.seqBuf, valid until the next call).
func (m *Matcher) seqOf(d *compiledDoor, src netip.Addr) []knock.Step {
	if d.perSource == nil {
		return d.seq
	}
	m.seqBuf = d.perSource.SequenceFor(src, m.seqBuf[:0])
	if len(m.seqBuf) != d.seqLen {
		return nil
	}
	return m.seqBuf
}

// Handle runs one event through every door and appends to out the doors it
// opens, in door order. Event times, not the wall clock, drive timeouts and
// cooldowns, so a replayed capture behaves as it did live.
func (m *Matcher) Handle(ev *knock.Event, out []Match) []Match {
	m.stats.Events++
	step := knock.Step{Proto: ev.Proto, Port: ev.Port}
	sd, ok := m.steps[step]
	m.dstMemo = 0
	if !ev.Src.IsValid() || !(ok && m.anyDoorTakes(sd.any, ev) || len(m.ranged) > 0 && m.rangeTakes(ev)) {
		// What knockd's kernel filter drops: it touches no attempt.
		m.stats.Ignored++
		return out
	}
	now := ev.Time.UnixNano()

	// The source's attempts in progress take the event first. One whose
	// door accepts the event's destination takes it whatever it does with
	// it (a step, an opening, a tolerated repeat, a flag mismatch, a
	// reset), and then the event is spent: as in knockd, it starts no
	// door. See "Which attempts take an event" in doc.go.
	taken := false
	_, i, _ := m.index.find(m.recs, ev.Src)
	for i != empty {
		next := m.recs[i].nextOfSource
		if m.settle(i, now) && m.recs[i].stage > 0 && m.dstApplies(&m.doors[m.recs[i].door], ev.Dst) {
			taken = true
			out = m.step(i, ev, step, now, out)
		}
		i = next
	}
	if taken {
		// Source lists are in door order, so the Matches are too.
		return out
	}

	// No attempt took the event: it starts every door whose first step it
	// is, in door order: those indexed by their first step, and those
	// whose sequence for this source begins with it. None of those doors
	// has an attempt in progress for the source: one would have taken the
	// event, since it accepts the same destination.
	first, bound := sd.first, m.bound
	for len(first) > 0 || len(bound) > 0 {
		var di int32
		if len(bound) == 0 || len(first) > 0 && first[0] < bound[0] {
			di, first = first[0], first[1:]
		} else {
			di, bound = bound[0], bound[1:]
		}
		d := &m.doors[di]
		if !m.flagsMatch(d, ev) || !m.dstApplies(d, ev.Dst) || now < d.from || now >= d.until {
			continue
		}
		if d.perSource != nil {
			if !d.inRange(ev) {
				continue
			}
			if seq := m.seqOf(d, ev.Src); len(seq) == 0 || seq[0] != step {
				continue
			}
		}
		out = m.start(int(di), ev, now, out)
	}
	return out
}

// inRange reports whether the event falls in d's port range.
func (d *compiledDoor) inRange(ev *knock.Event) bool {
	return ev.Port >= d.rlo && ev.Port <= d.rhi && d.rprotos&protoBit(ev.Proto) != 0
}

// anyDoorTakes reports whether some door with this step accepts the event's
// TCP flags and destination: knockd's kernel filter.
func (m *Matcher) anyDoorTakes(doors []int32, ev *knock.Event) bool {
	for _, di := range doors {
		d := &m.doors[di]
		if m.flagsMatch(d, ev) && m.dstApplies(d, ev.Dst) {
			return true
		}
	}
	return false
}

// rangeTakes reports whether the event falls in the port range of a
// rotating door that accepts its TCP flags and destination: such a knock
// counts even when it is no door's step, so that a wrong guess in the
// range resets the guesser's attempt.
func (m *Matcher) rangeTakes(ev *knock.Event) bool {
	for _, di := range m.ranged {
		d := &m.doors[di]
		if d.inRange(ev) && m.flagsMatch(d, ev) && m.dstApplies(d, ev.Dst) {
			return true
		}
	}
	return false
}

func (m *Matcher) flagsMatch(d *compiledDoor, ev *knock.Event) bool {
	return ev.Proto != knock.TCP || d.flags.Match(ev.Flags)
}

func (m *Matcher) dstApplies(d *compiledDoor, dst netip.Addr) bool {
	if len(d.targets) > 0 {
		return slices.Contains(d.targets, dst)
	}
	if m.isLocal == nil {
		return true
	}
	if m.dstMemo == 0 {
		m.dstMemo = -1
		if m.isLocal(dst) {
			m.dstMemo = 1
		}
	}
	return m.dstMemo > 0
}

// step applies an event to record i, an attempt in progress whose door
// accepts the event's destination.
func (m *Matcher) step(i int32, ev *knock.Event, step knock.Step, now int64, out []Match) []Match {
	r := &m.recs[i]
	d := &m.doors[r.door]
	seq := m.seqOf(d, r.src)
	switch {
	case !m.flagsMatch(d, ev):
		// knockd: wrong flags never cancel a sequence.
	case int(r.stage) < len(seq) && step == seq[r.stage]:
		r.stage++
		r.last = now
		m.progress(StageReached, r.door, r.src, r.stage, ev)
		if int(r.stage) == d.seqLen {
			return m.open(i, ev, now, out)
		}
		m.debug("stage", r, d)
		m.touch(i)
	case d.allowDup && int(r.stage) <= len(seq) && step == seq[r.stage-1]:
		// A retransmitted or repeated knock: tolerated by this door.
	default:
		m.stats.Reset++
		m.debug("reset", r, d)
		m.progress(AttemptReset, r.door, r.src, r.stage, ev)
		r.stage = 0
		m.release(i)
	}
	return out
}

// start begins door di's attempt for the event's source, or opens a
// one-step door at once.
func (m *Matcher) start(di int, ev *knock.Event, now int64, out []Match) []Match {
	d := &m.doors[di]
	i := m.findRecord(ev.Src, int32(di))
	if d.seqLen == 1 && i == empty && d.cooldown <= 0 {
		// Nothing to remember: open without taking a record, so a flood
		// on a one-step door evicts nobody.
		m.stats.Started++
		m.stats.Opened++
		m.progress(StageReached, int32(di), ev.Src, 1, ev)
		m.debugOpen(ev.Src, d)
		return append(out, Match{Door: di, Name: d.name, Src: ev.Src, Event: *ev})
	}
	if i == empty {
		i = m.alloc(ev.Src, int32(di))
	}
	r := &m.recs[i]
	m.stats.Started++
	r.stage = 1
	r.first, r.last = now, now
	m.progress(StageReached, r.door, r.src, r.stage, ev)
	if d.seqLen == 1 {
		return m.open(i, ev, now, out)
	}
	m.debug("stage", r, d)
	m.touch(i)
	return out
}

// open ends record i's attempt with a success, reported unless the door's
// cooldown for this source is still running.
func (m *Matcher) open(i int32, ev *knock.Event, now int64, out []Match) []Match {
	r := &m.recs[i]
	d := &m.doors[r.door]
	r.stage = 0
	if r.cooling && now < r.cooldownUntil {
		m.stats.Suppressed++
		m.debug("open suppressed by cooldown", r, d)
	} else {
		m.stats.Opened++
		m.debugOpen(r.src, d)
		out = append(out, Match{Door: int(r.door), Name: d.name, Src: r.src, Event: *ev})
		r.cooling = d.cooldown > 0
		r.cooldownUntil = addSaturating(now, d.cooldown)
	}
	m.release(i)
	return out
}

// addSaturating returns t+d for d ≥ 0, or the largest time if that
// overflows (a cooldown of centuries means "for ever", not "already over").
func addSaturating(t, d int64) int64 {
	if s := t + d; s >= t {
		return s
	}
	return math.MaxInt64
}

// settle applies the passage of time to record i: an attempt past its
// timeout ends, a finished cooldown lifts. It reports whether the record
// still exists.
func (m *Matcher) settle(i int32, now int64) bool {
	r := &m.recs[i]
	d := &m.doors[r.door]
	if r.stage > 0 && d.timeout > 0 {
		from := r.first
		if d.gap {
			from = r.last
		}
		if now-from >= d.timeout {
			m.stats.Expired++
			m.debug("timeout", r, d)
			m.progress(AttemptExpired, r.door, r.src, r.stage, nil)
			r.stage = 0
		}
	}
	if r.cooling && now >= r.cooldownUntil {
		r.cooling = false
	}
	if r.stage == 0 && !r.cooling {
		m.drop(i)
		return false
	}
	return true
}

// release files record i after its attempt ended: kept while a cooldown
// runs, freed otherwise.
func (m *Matcher) release(i int32) {
	if m.recs[i].cooling {
		m.touch(i)
		return
	}
	m.drop(i)
}

// findRecord returns src's record for door di, or empty.
func (m *Matcher) findRecord(src netip.Addr, di int32) int32 {
	_, i, _ := m.index.find(m.recs, src)
	for i != empty && m.recs[i].door < di {
		i = m.recs[i].nextOfSource
	}
	if i != empty && m.recs[i].door == di {
		return i
	}
	return empty
}

// alloc takes a free record for (src, di), evicting one if none is free,
// and links it into src's list.
func (m *Matcher) alloc(src netip.Addr, di int32) int32 {
	if m.free == empty {
		m.evict()
	}
	i := m.free
	m.free = m.recs[i].next
	m.recs[i] = record{src: src, door: di, rank: empty, prev: empty, next: empty, nextOfSource: empty}
	m.live++
	m.linkSource(i)
	return i
}

// linkSource inserts record i into its source's list, kept in door order
// so that Handle reports matches in door order and findRecord stops early.
func (m *Matcher) linkSource(i int32) {
	r := &m.recs[i]
	slot, head, tag := m.index.find(m.recs, r.src)
	if head == empty || m.recs[head].door > r.door {
		r.nextOfSource = head
		m.index.set(slot, i, tag)
		return
	}
	p := head
	for m.recs[p].nextOfSource != empty && m.recs[m.recs[p].nextOfSource].door < r.door {
		p = m.recs[p].nextOfSource
	}
	r.nextOfSource = m.recs[p].nextOfSource
	m.recs[p].nextOfSource = i
}

// drop frees record i.
func (m *Matcher) drop(i int32) {
	r := &m.recs[i]
	slot, head, tag := m.index.find(m.recs, r.src)
	if head == i {
		if r.nextOfSource == empty {
			m.index.remove(slot)
		} else {
			m.index.set(slot, r.nextOfSource, tag)
		}
	} else {
		p := head
		for m.recs[p].nextOfSource != i {
			p = m.recs[p].nextOfSource
		}
		m.recs[p].nextOfSource = r.nextOfSource
	}
	m.unrank(i)
	m.freeRecord(i)
	m.live--
}

// freeRecord clears record i, already out of every list, onto the free list.
// A free record is one with rank empty.
func (m *Matcher) freeRecord(i int32) {
	m.recs[i] = record{door: empty, rank: empty, prev: empty, next: m.free, nextOfSource: empty}
	m.free = i
}

// rankOf orders records for eviction. Rank 0 holds cooldowns and is evicted
// last; rank k ≥ 1 holds attempts that matched k steps. Eviction takes the
// least recently touched record of the lowest non-empty rank from 1 up, so a
// flood of first knocks only ever evicts other first knocks, and an attempt
// that got further survives it.
func rankOf(r *record) int32 {
	if r.cooling {
		return 0
	}
	return r.stage
}

// touch makes record i the newest of its rank.
func (m *Matcher) touch(i int32) {
	m.unrank(i)
	r := &m.recs[i]
	r.rank = rankOf(r)
	l := &m.ranks[r.rank]
	r.prev, r.next = l.newest, empty
	if l.newest == empty {
		l.oldest = i
	} else {
		m.recs[l.newest].next = i
	}
	l.newest = i
}

func (m *Matcher) unrank(i int32) {
	r := &m.recs[i]
	if r.rank == empty {
		return
	}
	l := &m.ranks[r.rank]
	if r.prev == empty {
		l.oldest = r.next
	} else {
		m.recs[r.prev].next = r.next
	}
	if r.next == empty {
		l.newest = r.prev
	} else {
		m.recs[r.next].prev = r.prev
	}
	r.rank, r.prev, r.next = empty, empty, empty
}

// evict frees the record least worth keeping (see rankOf): the oldest of
// ranks 1, 2, ... and only then of rank 0.
func (m *Matcher) evict() {
	victim := int32(empty)
	for rank := 1; rank < len(m.ranks) && victim == empty; rank++ {
		victim = m.ranks[rank].oldest
	}
	if victim == empty {
		victim = m.ranks[0].oldest
	}
	m.stats.Evicted++
	r := &m.recs[victim]
	m.debug("evicted", r, &m.doors[r.door])
	m.drop(victim)
}

// Expire drops the attempts past their timeout and lifts finished
// cooldowns, and returns how many attempts it dropped. now must be on the
// events' time base (the capture clock). It walks every record, so the
// daemon calls it from a timer about once a second, not per event.
func (m *Matcher) Expire(now time.Time) int {
	before := m.stats.Expired
	t := now.UnixNano()
	for rank := range m.ranks {
		for i := m.ranks[rank].oldest; i != empty; {
			next := m.recs[i].next
			if m.settle(i, t) && rankOf(&m.recs[i]) != m.recs[i].rank {
				m.touch(i)
			}
			i = next
		}
	}
	if n := m.stats.Evicted - m.evictedLogged; n > 0 {
		m.evictedLogged = m.stats.Evicted
		m.log.Warn("match: attempt table full, evicted the least advanced attempts; a flood may be under way",
			"evicted", n, "cap", len(m.recs))
	}
	return int(m.stats.Expired - before)
}

// Reload replaces the doors (SIGHUP). Attempts and cooldowns of doors that
// kept their name, sequence, TCP flags, timeout and targets carry over;
// those of every other door are dropped.
func (m *Matcher) Reload(doors []knock.Door) {
	old := m.doors
	m.setDoors(doors)
	oldToNew := make([]int32, len(old))
	taken := make([]bool, len(m.doors))
	for o := range old {
		oldToNew[o] = empty
		for n := range m.doors {
			if !taken[n] && sameMatching(&old[o], &m.doors[n]) {
				oldToNew[o], taken[n] = int32(n), true
				break
			}
		}
	}
	// Door numbers change, so every source list is rebuilt in the new
	// door order.
	m.index.clear()
	var keep []int32
	for i := range m.recs {
		r := &m.recs[i]
		if r.rank == empty {
			continue // free
		}
		r.nextOfSource = empty
		if nd := oldToNew[r.door]; nd != empty {
			r.door = nd
			keep = append(keep, int32(i))
			continue
		}
		m.unrank(int32(i))
		m.freeRecord(int32(i))
		m.live--
	}
	for _, i := range keep {
		m.linkSource(i)
	}
	m.log.Debug("match: doors reloaded", "doors", len(m.doors), "kept", len(keep))
}

func sameMatching(a, b *compiledDoor) bool {
	return a.name == b.name && slices.Equal(a.seq, b.seq) && a.perSource == b.perSource && a.flags == b.flags &&
		a.timeout == b.timeout && a.gap == b.gap && slices.Equal(a.targets, b.targets) &&
		a.from == b.from && a.until == b.until
}

// SetSequence replaces door's sequence (one-time sequences: the daemon
// installs the next line after a success; an empty seq closes the door).
// Attempts in progress on the old sequence are dropped; cooldowns stay.
func (m *Matcher) SetSequence(door int, seq []knock.Step) {
	if door < 0 || door >= len(m.doors) {
		m.log.Error("match: SetSequence for a door that does not exist; ignored", "door", door, "doors", len(m.doors))
		return
	}
	m.doors[door].seq = slices.Clone(seq)
	m.doors[door].seqLen = len(seq)
	m.indexSteps()
	for i := range m.recs {
		r := &m.recs[i]
		if r.rank == empty || r.door != int32(door) || r.stage == 0 {
			continue
		}
		r.stage = 0
		m.release(int32(i))
	}
}

// Stats returns the counters.
func (m *Matcher) Stats() Stats {
	s := m.stats
	s.Tracked = m.live
	return s
}

// progress reports to Options.OnProgress what happened to src's attempt
// on door; ev is nil for a timeout.
func (m *Matcher) progress(kind ProgressKind, door int32, src netip.Addr, stage int32, ev *knock.Event) {
	if m.onProgress == nil {
		return
	}
	d := &m.doors[door]
	p := Progress{Kind: kind, Door: int(door), Name: d.name, Src: src, Stage: int(stage), Of: d.seqLen}
	if ev != nil {
		p.Event = *ev
	}
	m.onProgress(p)
}

func (m *Matcher) debug(msg string, r *record, d *compiledDoor) {
	if m.log.Enabled(context.Background(), slog.LevelDebug) {
		m.log.Debug("match: "+msg, "src", r.src, "door", d.name, "stage", r.stage, "of", d.seqLen)
	}
}

func (m *Matcher) debugOpen(src netip.Addr, d *compiledDoor) {
	if m.log.Enabled(context.Background(), slog.LevelDebug) {
		m.log.Debug("match: open", "src", src, "door", d.name)
	}
}
