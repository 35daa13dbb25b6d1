package match

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// refModel is the matching rules of doc.go written as plainly as possible,
// with maps and no memory bound: the specification the Matcher is checked
// against.
type refModel struct {
	doors    []knock.Door
	isLocal  func(netip.Addr) bool
	attempts map[refKey]*refAttempt
	cooling  map[refKey]time.Time // successes before this time are suppressed
}

type refKey struct {
	src  netip.Addr
	door int
}

type refAttempt struct {
	stage       int
	first, last time.Time
}

func newRefModel(doors []knock.Door, isLocal func(netip.Addr) bool) *refModel {
	return &refModel{
		doors:    slices.Clone(doors),
		isLocal:  isLocal,
		attempts: make(map[refKey]*refAttempt),
		cooling:  make(map[refKey]time.Time),
	}
}

func (r *refModel) flagsOK(d knock.Door, ev knock.Event) bool {
	return ev.Proto != knock.TCP || d.Flags.Match(ev.Flags)
}

func (r *refModel) dstOK(d knock.Door, dst netip.Addr) bool {
	if len(d.Targets) > 0 {
		return slices.Contains(d.Targets, dst)
	}
	return r.isLocal == nil || r.isLocal(dst)
}

func (r *refModel) handle(ev knock.Event) []int {
	step := knock.Step{Proto: ev.Proto, Port: ev.Port}
	counted := false
	for _, d := range r.doors {
		if slices.Contains(d.Sequence, step) && r.flagsOK(d, ev) && r.dstOK(d, ev.Dst) {
			counted = true
		}
	}
	if !counted {
		return nil
	}
	var opened []int
	open := func(k refKey) {
		if until, ok := r.cooling[k]; ok && ev.Time.Before(until) {
			return
		}
		opened = append(opened, k.door)
		if d := r.doors[k.door]; d.Cooldown > 0 {
			r.cooling[k] = ev.Time.Add(d.Cooldown)
		}
	}
	// Attempts past their timeout are gone before the event is looked at.
	for di, d := range r.doors {
		k := refKey{ev.Src, di}
		if a := r.attempts[k]; a != nil && d.Timeout > 0 {
			from := a.first
			if d.TimeoutMode == knock.TimeoutGap {
				from = a.last
			}
			if ev.Time.Sub(from) >= d.Timeout {
				delete(r.attempts, k)
			}
		}
	}
	// Every attempt of the source whose door accepts the destination
	// takes the event, whatever it does with it.
	taken := false
	for di, d := range r.doors {
		k := refKey{ev.Src, di}
		a := r.attempts[k]
		if a == nil || !r.dstOK(d, ev.Dst) {
			continue
		}
		taken = true
		switch {
		case !r.flagsOK(d, ev):
		case step == d.Sequence[a.stage]:
			a.stage++
			a.last = ev.Time
			if a.stage == len(d.Sequence) {
				delete(r.attempts, k)
				open(k)
			}
		case d.AllowDuplicates && step == d.Sequence[a.stage-1]:
		default:
			delete(r.attempts, k)
		}
	}
	if taken {
		return opened
	}
	// Only an event no attempt took starts doors.
	for di, d := range r.doors {
		if len(d.Sequence) > 0 && d.Sequence[0] == step && r.flagsOK(d, ev) && r.dstOK(d, ev.Dst) {
			k := refKey{ev.Src, di}
			if len(d.Sequence) == 1 {
				open(k)
			} else {
				r.attempts[k] = &refAttempt{stage: 1, first: ev.Time, last: ev.Time}
			}
		}
	}
	return opened
}

func (r *refModel) setSequence(di int, seq []knock.Step) {
	r.doors[di].Sequence = slices.Clone(seq)
	for k := range r.attempts {
		if k.door == di {
			delete(r.attempts, k)
		}
	}
}

func (r *refModel) reload(doors []knock.Door) {
	same := func(a, b knock.Door) bool {
		return a.Name == b.Name && slices.Equal(a.Sequence, b.Sequence) && a.Flags == b.Flags &&
			a.Timeout == b.Timeout && a.TimeoutMode == b.TimeoutMode && slices.Equal(a.Targets, b.Targets)
	}
	oldToNew := make(map[int]int)
	taken := make(map[int]bool)
	for o, od := range r.doors {
		for n, nd := range doors {
			if !taken[n] && same(od, nd) {
				oldToNew[o], taken[n] = n, true
				break
			}
		}
	}
	attempts, cooling := r.attempts, r.cooling
	r.attempts, r.cooling = make(map[refKey]*refAttempt), make(map[refKey]time.Time)
	for k, a := range attempts {
		if n, ok := oldToNew[k.door]; ok {
			r.attempts[refKey{k.src, n}] = a
		}
	}
	for k, until := range cooling {
		if n, ok := oldToNew[k.door]; ok {
			r.cooling[refKey{k.src, n}] = until
		}
	}
	r.doors = slices.Clone(doors)
}

// fuzzInput turns bytes into a small door set and a stream of operations.
type fuzzInput struct {
	data []byte
}

func (in *fuzzInput) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

var (
	fuzzSources = []netip.Addr{
		netip.MustParseAddr("203.0.113.1"),
		netip.MustParseAddr("203.0.113.2"),
		netip.MustParseAddr("2001:db8::3"),
	}
	fuzzTarget = netip.MustParseAddr("192.0.2.80")
	fuzzDsts   = []netip.Addr{local, other, fuzzTarget}
	fuzzFlags  = []knock.TCPFlags{knock.SYN, knock.ACK, knock.SYN | knock.ACK, 0}
)

func (in *fuzzInput) step() knock.Step {
	b := in.byte()
	s := knock.Step{Proto: knock.TCP, Port: uint16(1 + b%5)}
	if b&0x80 != 0 {
		s.Proto = knock.UDP
	}
	return s
}

func (in *fuzzInput) door(i int) knock.Door {
	b := in.byte()
	d := knock.Door{Name: fmt.Sprintf("d%d", i)}
	for range 1 + int(b%4) {
		d.Sequence = append(d.Sequence, in.step())
	}
	if b&0x04 != 0 {
		d.Flags.Set = knock.SYN
	}
	if b&0x08 != 0 {
		d.Flags.Clear = knock.ACK
	}
	d.Timeout = []time.Duration{10 * time.Second, 3 * time.Second, 0, 25 * time.Second}[b>>4&3]
	if b&0x40 != 0 {
		d.TimeoutMode = knock.TimeoutGap
	}
	if b&0x80 != 0 {
		d.AllowDuplicates = true
	}
	c := in.byte()
	d.Cooldown = []time.Duration{0, 0, 4 * time.Second, 30 * time.Second}[c&3]
	if c&0x04 != 0 {
		d.Targets = []netip.Addr{fuzzTarget}
	}
	return d
}

// FuzzMatcher drives a Matcher with random doors and events and checks it
// against refModel exactly while nothing is evicted, and, with a tiny cap,
// that memory stays bounded, the structures stay consistent, and no door
// opens for a source that did not send its whole sequence in time.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte{0x01, 0x02, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02})
	f.Add([]byte{0x12, 0x43, 0x01, 0x02, 0x03, 0x04, 0x05, 0x81, 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b})
	f.Add([]byte("prefix doors, floods, cooldowns and timeouts, all at once and then again"))
	// The scenarios of the named tests, as byte streams: one door 1,2,3
	// and two sources interleaving.
	f.Add([]byte{0x00, 0x02, 0x00, 0x01, 0x02, 0x00, 0x10, 0x01, 0x40, 0x02, 0x80, 0x01, 0x10, 0x03, 0x40, 0x03})
	// Debian's knockd.conf in small: d0 = 1,2,3 and d1 = 3,2,1 (SYN,
	// 10 s); one source opens d0, then closes with d1 at once.
	f.Add([]byte{0x1c, 0x06, 0x00, 0x01, 0x02, 0x00, 0x06, 0x02, 0x01, 0x00, 0x00,
		0x00, 0x20, 0x01, 0x20, 0x02, 0x20, 0x02, 0x20, 0x01, 0x20, 0x00, 0x20})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		head := in.byte()
		doors := make([]knock.Door, 1+int(head%3))
		for i := range doors {
			doors[i] = in.door(i)
		}
		maxSmall := 1 + int(head>>2%8)

		exact := New(doors, Options{IsLocal: isLocal, MaxAttempts: 1024})
		small := New(doors, Options{IsLocal: isLocal, MaxAttempts: maxSmall})
		ref := newRefModel(doors, isLocal)

		now := t0
		var history []knock.Event // every event handed over, for the subsequence check
		epoch := make([]int, len(doors))
		var outExact, outSmall []Match
		for op := 0; len(in.data) > 0 && op < 400; op++ {
			b := in.byte()
			switch {
			case b < 0xf0: // an event
				c := in.byte()
				now = now.Add(time.Duration(c>>5) * time.Second)
				ev := knock.Event{
					Time:  now,
					Src:   fuzzSources[int(b>>6)%len(fuzzSources)],
					Dst:   fuzzDsts[int(c&3)%len(fuzzDsts)],
					Proto: knock.TCP,
					Port:  uint16(1 + b%6),
					Flags: fuzzFlags[c>>2&3],
				}
				if c&0x10 != 0 {
					ev.Proto, ev.Flags = knock.UDP, 0
				}
				history = append(history, ev)

				wantDoors := ref.handle(ev)
				outExact = exact.Handle(&ev, outExact[:0])
				var gotDoors []int
				for _, m := range outExact {
					gotDoors = append(gotDoors, m.Door)
					if m.Src != ev.Src || m.Event != ev || m.Name != ref.doors[m.Door].Name {
						t.Fatalf("op %d: Match %+v does not describe event %+v", op, m, ev)
					}
				}
				if exact.Stats().Evicted != 0 {
					t.Fatalf("op %d: the large matcher evicted, so it can no longer be compared with the model", op)
				}
				if !slices.Equal(wantDoors, gotDoors) {
					t.Fatalf("op %d: event %+v opened doors %v, reference model says %v", op, ev, gotDoors, wantDoors)
				}

				outSmall = small.Handle(&ev, outSmall[:0])
				for _, m := range outSmall {
					if !sentInTime(history, epoch[m.Door], ref.doors[m.Door]) {
						t.Fatalf("op %d: door %d %v opened for %s, which did not send it in time; history %+v",
							op, m.Door, ref.doors[m.Door].Sequence, ev.Src, history)
					}
				}
			case b < 0xf8: // the daemon's timer
				now = now.Add(time.Duration(b&7) * time.Second / 2)
				exact.Expire(now)
				small.Expire(now)
			case b < 0xfe: // a one-time sequence moves on
				di := int(b) % len(doors)
				var seq []knock.Step
				for range int(in.byte() % 4) {
					seq = append(seq, in.step())
				}
				ref.setSequence(di, seq)
				exact.SetSequence(di, seq)
				small.SetSequence(di, seq)
				epoch[di] = len(history)
			default: // SIGHUP: doors reversed, the first one changed or not
				next := slices.Clone(ref.doors)
				slices.Reverse(next)
				if b&1 != 0 {
					next[0].Timeout += time.Second
				}
				ref.reload(next)
				exact.Reload(next)
				small.Reload(next)
				// Door i is now door n-1-i; a changed door's attempts are
				// dropped, so its history starts afresh.
				slices.Reverse(epoch)
				if b&1 != 0 {
					epoch[0] = len(history)
				}
			}
			for _, m := range []*Matcher{exact, small} {
				if s := m.Stats(); s.Tracked > s.Capacity {
					t.Fatalf("op %d: %d records tracked, cap %d", op, s.Tracked, s.Capacity)
				}
				if err := m.check(); err != nil {
					t.Fatalf("op %d: %v", op, err)
				}
			}
		}
	})
}

// sentInTime reports whether the last event of history completes d's
// sequence for its source: the source sent every step in order after
// history[from:], each accepted by d's flags and destination, within d's
// timeout (from the first knock, or between knocks in gap mode).
func sentInTime(history []knock.Event, from int, d knock.Door) bool {
	last := history[len(history)-1]
	var evs []knock.Event
	for _, ev := range history[min(from, len(history)-1):] {
		if ev.Src == last.Src {
			evs = append(evs, ev)
		}
	}
	if len(d.Sequence) == 0 {
		return false
	}
	accepts := func(ev knock.Event, s knock.Step) bool {
		if ev.Proto != s.Proto || ev.Port != s.Port || ev.Proto == knock.TCP && !d.Flags.Match(ev.Flags) {
			return false
		}
		if len(d.Targets) > 0 {
			return slices.Contains(d.Targets, ev.Dst)
		}
		return isLocal(ev.Dst)
	}
	inTime := func(earlier, later time.Time) bool {
		return d.Timeout <= 0 || later.Sub(earlier) < d.Timeout
	}
	// start[e] is the latest first-knock time of a valid chain of the
	// steps so far ending at evs[e] (gap mode: any valid chain), or zero.
	start := make([]time.Time, len(evs))
	ok := make([]bool, len(evs))
	for e, ev := range evs {
		if ok[e] = accepts(ev, d.Sequence[0]); ok[e] {
			start[e] = ev.Time
		}
	}
	for _, s := range d.Sequence[1:] {
		nextOK := make([]bool, len(evs))
		nextStart := make([]time.Time, len(evs))
		for e, ev := range evs {
			if !accepts(ev, s) {
				continue
			}
			for p := range e {
				if !ok[p] {
					continue
				}
				link := d.TimeoutMode != knock.TimeoutGap || inTime(evs[p].Time, ev.Time)
				if link && (!nextOK[e] || start[p].After(nextStart[e])) {
					nextOK[e], nextStart[e] = true, start[p]
				}
			}
		}
		ok, start = nextOK, nextStart
	}
	e := len(evs) - 1
	return ok[e] && (d.TimeoutMode == knock.TimeoutGap || inTime(start[e], evs[e].Time))
}
