package message

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// Config is a message door as the assembler needs it.
type Config struct {
	// Payload is what the door's frames carry: texts, or the music doors'
	// songs (Door is then SongDoor).
	Payload  Payload
	Door     string
	Keys     [][]byte // one, or two during a key rotation
	Shape    portlang.Shape
	Period   time.Duration
	Skew     int // periods before and after the first knock's also tried
	MaxBytes int
	// Timeout is how long a message may take from its first knock; after
	// it an incomplete message is dropped.
	Timeout time.Duration
	// MaxAttempts bounds the sources assembling at once; the oldest
	// attempt gives way to a new source. 0 means DefaultMaxAttempts.
	MaxAttempts int
}

// DefaultMaxAttempts is the default bound on sources assembling at once.
const DefaultMaxAttempts = 256

// A Message is one that arrived whole and verified.
type Message struct {
	Payload Payload
	Src     netip.Addr
	Text    string // the payload: UTF-8 text, or for a Song the packed knocks' bytes
	Period  int64  // the period whose code it was sent in
	Key     int    // the index of the key it was sent under
	Tag     [TagBytes]byte
	At      time.Time // the knock that completed it
	Knocks  int       // knocks taken from its source, repeats included
}

// ReplayID names the message in the replay cache: the first 16 bytes of
// SHA-256("knockbeep message replay 1" 00 M(message tag, door, period)
// tag), with the purpose song tag for a song. It does not depend on the
// key, as a door's replay id does not.
func (m Message) ReplayID(door string) ([16]byte, error) {
	_, purpose := m.Payload.purposes()
	msg, err := portlang.Message(portlang.Params{Purpose: purpose, Name: door, Period: m.Period})
	if err != nil {
		return [16]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte("knockbeep message replay 1\x00"))
	h.Write(msg)
	h.Write(m.Tag[:])
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id, nil
}

// A Drop is an attempt that ended without a message, though a code read
// a header from its knocks or they were a message's worth: a message that
// was lost, cut short, altered or sent with another key. Other attempts
// (stray knocks: a scan, a flood) are only counted (Stats.Noise).
type Drop struct {
	Src    netip.Addr
	Knocks int
	Reason string
	Noise  bool // stray knocks: never in what Expire returns
}

// attempt is one source's knocks being assembled, under every code that
// may be the one it was sent in.
type attempt struct {
	src    netip.Addr
	first  time.Time
	knocks int
	frames []*frame
	done   bool // a message arrived: later knocks (repeats) are taken silently
}

// An Assembler reassembles a message door's messages from knocks. It is
// not safe for concurrent use: the daemon's owner loop calls it.
type Assembler struct {
	cfg      Config
	codes    map[codeKey]*Code
	attempts map[netip.Addr]*attempt
	// free and spare keep the frames and attempts of ended attempts for
	// the next, so that a flood of sources does not allocate per knock.
	free  []*frame
	spare []*attempt
	drops []Drop // since the last Expire; noise is only counted
	stats Stats
}

type codeKey struct {
	period int64
	key    int
}

// Stats are the assembler's counters.
type Stats struct {
	Knocks   uint64 // knocks taken
	Messages uint64 // messages that arrived whole
	Dropped  uint64 // attempts that ended without one, noise excluded
	Noise    uint64 // attempts of stray knocks: no code read a header from them
	Evicted  uint64 // attempts dropped to make room
}

// NewAssembler returns the assembler of cfg's door, after checking it.
func NewAssembler(cfg Config) (*Assembler, error) {
	switch {
	case len(cfg.Keys) == 0:
		return nil, errors.New("message: a message door needs a key")
	case cfg.Period < time.Second || cfg.Period%time.Second != 0:
		return nil, fmt.Errorf("message: period %v: give whole seconds", cfg.Period)
	case cfg.Skew < 0:
		return nil, fmt.Errorf("message: skew %d: give 0 or more periods", cfg.Skew)
	case cfg.MaxBytes < 1 || cfg.MaxBytes > MaxBytes:
		return nil, fmt.Errorf("message: max_bytes %d: give 1 to %d", cfg.MaxBytes, MaxBytes)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("message: timeout %v: a message needs time to arrive", cfg.Timeout)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	a := &Assembler{cfg: cfg, codes: map[codeKey]*Code{}, attempts: map[netip.Addr]*attempt{}}
	c, err := a.code(0, 0)
	if err != nil {
		return nil, err
	}
	if max := c.MaxText(0); cfg.MaxBytes > max {
		return nil, fmt.Errorf("message: max_bytes %d: port range %d-%d carries at most %d bytes", cfg.MaxBytes, cfg.Shape.Lo, cfg.Shape.Hi, max)
	}
	delete(a.codes, codeKey{0, 0})
	return a, nil
}

// code returns the code of period q under key ki, drawn once.
func (a *Assembler) code(q int64, ki int) (*Code, error) {
	k := codeKey{q, ki}
	if c, ok := a.codes[k]; ok {
		return c, nil
	}
	c, err := newCode(a.cfg.Payload, a.cfg.Keys[ki], a.cfg.Door, q, a.cfg.Shape)
	if err != nil {
		return nil, err
	}
	a.codes[k] = c
	return c, nil
}

// Handle takes one knock. It returns the message the knock completed, if
// any. Knocks outside the door's range and protocols are not its.
func (a *Assembler) Handle(ev *knock.Event) (Message, bool) {
	if ev.Port < a.cfg.Shape.Lo || ev.Port > a.cfg.Shape.Hi || !ev.Src.IsValid() || !slices.Contains(a.cfg.Shape.Protos, ev.Proto) {
		return Message{}, false
	}
	a.stats.Knocks++
	at := a.attempts[ev.Src]
	if at != nil && ev.Time.Sub(at.first) >= a.cfg.Timeout {
		a.end(at)
		at = nil
	}
	if at == nil {
		at = a.begin(ev)
		if at == nil {
			return Message{}, false
		}
	}
	st := knock.Step{Proto: ev.Proto, Port: ev.Port}
	if at.done {
		// A repeat of the delivered message's knocks is taken silently;
		// any other knock is the source's next message.
		if f := at.frames[0]; f.repeats(st) {
			at.knocks++
			return Message{}, false
		}
		a.end(at)
		if at = a.begin(ev); at == nil {
			return Message{}, false
		}
	}
	at.knocks++
	for _, f := range at.frames {
		pos, nb, _ := f.code.Decode(st) // in the range and protocols: checked above
		f.add(pos, nb, a.cfg.MaxBytes)
		if f.text != nil {
			at.done = true
			a.stats.Messages++
			m := Message{Payload: a.cfg.Payload, Src: ev.Src, Text: string(f.text), Period: f.code.Period(), Key: f.key, At: ev.Time, Knocks: at.knocks}
			copy(m.Tag[:], a.tagOf(f))
			a.keepOnly(at, f)
			return m, true
		}
	}
	// An attempt every code refused stays until its timeout, taking the
	// rest of its knocks, so that they do not read as a second attempt;
	// Expire then says why.
	return Message{}, false
}

// tagOf is the tag of a verified frame.
func (a *Assembler) tagOf(f *frame) []byte {
	tag := make([]byte, TagBytes)
	base := dataStart + 2*f.n
	for i := range tag {
		tag[i] = byte(f.nib[base+2*i])<<4 | byte(f.nib[base+2*i+1])
	}
	return tag
}

// begin starts an attempt for the event's source: one frame per period
// within the skew of its first knock, per key.
func (a *Assembler) begin(ev *knock.Event) *attempt {
	if len(a.attempts) >= a.cfg.MaxAttempts {
		a.evict()
	}
	q0 := portlang.PeriodAt(ev.Time, a.cfg.Period)
	var at *attempt
	if n := len(a.spare); n > 0 {
		at, a.spare = a.spare[n-1], a.spare[:n-1]
	} else {
		at = &attempt{}
	}
	*at = attempt{src: ev.Src, first: ev.Time, frames: at.frames[:0]}
	for q := q0 - int64(a.cfg.Skew); q <= q0+int64(a.cfg.Skew); q++ {
		for ki := range a.cfg.Keys {
			c, err := a.code(q, ki)
			if err != nil {
				return nil // the config was checked: a door name with a zero byte cannot get here
			}
			f := a.frame()
			f.reset(c, ki)
			at.frames = append(at.frames, f)
		}
	}
	a.attempts[ev.Src] = at
	a.prune(q0)
	return at
}

func (a *Assembler) frame() *frame {
	if n := len(a.free); n > 0 {
		f := a.free[n-1]
		a.free = a.free[:n-1]
		return f
	}
	return &frame{}
}

// keepOnly releases every frame of at but f, the delivered message's,
// which stays to tell its late repeats from a next message: filled in
// whole (the header's copy and the parity knocks that may still come are
// known once the text is), so that every knock of it reads as a repeat.
func (a *Assembler) keepOnly(at *attempt, f *frame) {
	for pos, nb := range f.code.frame(f.text, f.par) {
		f.nib[pos] = int8(nb)
	}
	for _, o := range at.frames {
		if o != f {
			o.code = nil
			a.free = append(a.free, o)
		}
	}
	at.frames = append(at.frames[:0], f)
}

// release returns an attempt's frames to the free list.
func (a *Assembler) release(at *attempt) {
	for _, f := range at.frames {
		f.code = nil
		a.free = append(a.free, f)
	}
	at.frames = at.frames[:0]
}

// end closes an attempt, recording a Drop unless it was done or noise.
func (a *Assembler) end(at *attempt) {
	if !at.done {
		switch d := a.dropOf(at); {
		case d.Noise:
			a.stats.Noise++
		default:
			a.stats.Dropped++
			a.drops = append(a.drops, d)
		}
	}
	a.release(at)
	delete(a.attempts, at.src)
	a.spare = append(a.spare, at)
}

// dropOf says why at did not become a message: from the frame that got
// furthest (a header read, then the most knocks).
func (a *Assembler) dropOf(at *attempt) Drop {
	var best *frame
	for _, f := range at.frames {
		if best == nil || f.read && !best.read || f.read == best.read && f.got > best.got {
			best = f
		}
	}
	// Knocks that no code reads a plausible header from are noise: a scan,
	// a flood, or a message under another key or from a clock off by more
	// than the skew, which only the count (and the daemon's summary of
	// it) shows; logging each would let a flood fill the log.
	if best == nil || !best.read {
		return Drop{Src: at.src, Knocks: at.knocks, Noise: true}
	}
	return Drop{Src: at.src, Knocks: at.knocks, Reason: best.progress()}
}

// evict ends an attempt to make room for a new source: the first noisy
// one found (no header read: a flood's source), so that a flood of new
// sources evicts its own attempts, not a message on its way; only when
// every attempt has read a header, the oldest. In a flood the first
// attempts looked at are noise, so this costs about one map step.
func (a *Assembler) evict() {
	var oldest *attempt
	for _, at := range a.attempts {
		if !at.done && at.noisy() {
			oldest = at
			break
		}
		if oldest == nil || at.first.Before(oldest.first) {
			oldest = at
		}
	}
	if oldest != nil {
		a.stats.Evicted++
		a.end(oldest)
	}
}

// noisy reports whether no code has read a plausible header from the
// attempt's knocks.
func (at *attempt) noisy() bool {
	for _, f := range at.frames {
		if f.read {
			return false
		}
	}
	return true
}

// prune forgets the codes of periods no attempt begun from q0 on can use.
func (a *Assembler) prune(q0 int64) {
	oldest := q0 - int64(a.cfg.Skew) - 1 - int64(a.cfg.Timeout/a.cfg.Period)
	for k := range a.codes {
		if k.period < oldest {
			delete(a.codes, k)
		}
	}
}

// Expire ends the attempts whose time is up at now (the events' time
// base) and returns every Drop since the last call.
func (a *Assembler) Expire(now time.Time) []Drop {
	for _, at := range a.attempts {
		if now.Sub(at.first) >= a.cfg.Timeout {
			a.end(at)
		}
	}
	d := a.drops
	a.drops = nil
	return d
}

// Stats returns the counters.
func (a *Assembler) Stats() Stats { return a.stats }

// Prepare draws ahead of time the codes an attempt begun within lead of
// now would need, so that the first knock of a period does not wait for
// them (a code takes a fraction of a millisecond to draw). The daemon
// calls it from its tick.
func (a *Assembler) Prepare(now time.Time, lead time.Duration) error {
	for _, t := range []time.Time{now, now.Add(lead)} {
		q0 := portlang.PeriodAt(t, a.cfg.Period)
		for q := q0 - int64(a.cfg.Skew); q <= q0+int64(a.cfg.Skew); q++ {
			for ki := range a.cfg.Keys {
				if _, err := a.code(q, ki); err != nil {
					return err
				}
			}
		}
		a.prune(q0)
	}
	return nil
}

// Expires is when m's replay record may be forgotten: when no attempt
// that could still deliver it may begin or last.
func (a *Assembler) Expires(m Message) time.Time {
	return portlang.PeriodStart(m.Period+int64(a.cfg.Skew)+1, a.cfg.Period).Add(a.cfg.Timeout)
}
