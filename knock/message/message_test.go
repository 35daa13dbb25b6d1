package message

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

var (
	testKey   = bytes.Repeat([]byte{0x42}, 32)
	otherKey  = bytes.Repeat([]byte{0x43}, 32)
	testShape = portlang.Shape{Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}
	alice     = netip.MustParseAddr("203.0.113.5")
	bob       = netip.MustParseAddr("2001:db8::b0b")
)

const testPeriod = 30 * time.Second

// mixed is a 200-byte text of mixed scripts.
var mixed = func() string {
	s := ""
	for _, w := range []string{"deploy v1.2 ✓ ", "Grüße ", "привет ", "日本語 ", "مرحبا ", "🎵 ", "ok; "} {
		s += w
	}
	for len(s) < 200 {
		s += "x"
	}
	return s
}()

func testConfig() Config {
	return Config{Door: "notify", Keys: [][]byte{testKey}, Shape: testShape, Period: testPeriod, Skew: 1,
		MaxBytes: 256, Timeout: 25 * time.Second}
}

// periodStart is the start of a period the tests knock in.
var periodStart = portlang.PeriodStart(59000000, testPeriod)

// encode returns text's knocks under key for the period holding at.
func encode(t testing.TB, key []byte, at time.Time, text string, parity int) []knock.Step {
	t.Helper()
	c, err := NewCode(key, "notify", portlang.PeriodAt(at, testPeriod), testShape)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := c.Encode([]byte(text), parity)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

// events are steps as knocks from src, gap apart from at.
func events(src netip.Addr, steps []knock.Step, at time.Time, gap time.Duration) []knock.Event {
	evs := make([]knock.Event, len(steps))
	for i, st := range steps {
		evs[i] = knock.Event{Time: at.Add(time.Duration(i) * gap), Src: src, Proto: st.Proto, Port: st.Port, Flags: knock.SYN}
	}
	return evs
}

// feed runs evs through a and returns the texts that arrived, by source.
func feed(a *Assembler, evs []knock.Event) []Message {
	var got []Message
	for i := range evs {
		if m, ok := a.Handle(&evs[i]); ok {
			got = append(got, m)
		}
	}
	return got
}

func newAssembler(t testing.TB, cfg Config) *Assembler {
	t.Helper()
	a, err := NewAssembler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A 200-byte message of mixed scripts arrives exactly, once, whatever
// the order of its knocks and however many repeats; a knock lost per
// parity class is recovered.
func TestMessageArrives(t *testing.T) {
	at := periodStart.Add(5 * time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		parity int
		mangle func([]knock.Event) []knock.Event
	}{
		{"in order", 0, func(e []knock.Event) []knock.Event { return e }},
		{"shuffled", 0, func(e []knock.Event) []knock.Event {
			rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
			return e
		}},
		{"shuffled with every knock twice", 0, func(e []knock.Event) []knock.Event {
			e = append(e, e...)
			rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
			return e
		}},
		{"one knock lost in each of 8 parity classes, shuffled, repeats", 8, func(e []knock.Event) []knock.Event {
			// The data knocks at positions 12+0 ... 12+7 are one per class.
			var kept []knock.Event
			for i, ev := range e {
				if i < dataStart || i >= dataStart+8 {
					kept = append(kept, ev)
				}
			}
			kept = append(kept, kept[:40]...)
			rng.Shuffle(len(kept), func(i, j int) { kept[i], kept[j] = kept[j], kept[i] })
			return kept
		}},
		{"a header copy lost whole", 0, func(e []knock.Event) []knock.Event { return e[headerNibbles:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAssembler(t, testConfig())
			evs := tt.mangle(events(alice, encode(t, testKey, at, mixed, tt.parity), at, time.Millisecond))
			got := feed(a, evs)
			if len(got) != 1 || got[0].Text != mixed || got[0].Src != alice {
				t.Fatalf("got %d messages %+v, want the text once from %v", len(got), got, alice)
			}
			if got[0].Period != portlang.PeriodAt(at, testPeriod) || got[0].Key != 0 {
				t.Errorf("period %d key %d, want %d and 0", got[0].Period, got[0].Key, portlang.PeriodAt(at, testPeriod))
			}
			if drops := a.Expire(at.Add(time.Minute)); len(drops) != 0 {
				t.Errorf("drops after the message: %+v", drops)
			}
		})
	}
	if n := len(encode(t, testKey, at, mixed, 8)); n != Nibbles(len(mixed), 8) || n != 12+2*(200+8)+8 {
		t.Errorf("%d knocks for 200 bytes and 8 parity knocks", n)
	}
}

// What must not arrive does not, and the log's reason says why: lost
// knocks beyond the parity, another key, a period outside the skew, a
// message longer than max_bytes, a knock altered on the way.
func TestMessageRefused(t *testing.T) {
	at := periodStart.Add(5 * time.Second)
	tests := []struct {
		name   string
		cfg    func(*Config)
		evs    func() []knock.Event
		reason string // "" when the knocks are noise: no Drop, counted only
	}{
		{"two knocks lost in one parity class", nil, func() []knock.Event {
			e := events(alice, encode(t, testKey, at, mixed, 8), at, time.Millisecond)
			return append(e[:dataStart], e[dataStart+1:dataStart+8]...) // positions 12 and 20 are both class 0
		}, "data knocks missing"},
		{"a knock lost without parity", nil, func() []knock.Event {
			e := events(alice, encode(t, testKey, at, "hello", 0), at, time.Millisecond)
			return append(e[:15], e[16:]...)
		}, "1 of its 26 data knocks missing"},
		{"another key", nil, func() []knock.Event {
			return events(alice, encode(t, otherKey, at, mixed, 0), at, time.Millisecond)
		}, ""},
		{"a few stray knocks", nil, func() []knock.Event {
			return events(alice, encode(t, otherKey, at, mixed, 0)[:10], at, time.Millisecond)
		}, ""},
		{"two periods late (skew 1)", nil, func() []knock.Event {
			return events(alice, encode(t, testKey, at.Add(-2*testPeriod), mixed, 0), at, time.Millisecond)
		}, ""},
		{"longer than max_bytes", func(c *Config) { c.MaxBytes = 100 }, func() []knock.Event {
			return events(alice, encode(t, testKey, at, mixed, 0), at, time.Millisecond)
		}, "announces 200 bytes, more than the door's max_bytes (100)"},
		{"a knock altered on the way arrives first", nil, func() []knock.Event {
			e := events(alice, encode(t, testKey, at, "hello", 0), at, time.Millisecond)
			forged := encode(t, testKey, at, "hellp", 0) // the last text nibble differs
			return append([]knock.Event{events(alice, forged[21:22], at, 0)[0]}, e...)
		}, "1 knocks disagreed with ones before them"},
		{"a knock altered on the way, the original lost", nil, func() []knock.Event {
			e := events(alice, encode(t, testKey, at, "hello", 0), at, time.Millisecond)
			forged := encode(t, testKey, at, "hellp", 0)
			e[21] = events(alice, forged[21:22], at, 0)[0] // the last text nibble, 'o' (6f) made 'p' (70)
			return e
		}, "tag does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a := newAssembler(t, cfg)
			if got := feed(a, tt.evs()); len(got) != 0 {
				t.Fatalf("a message arrived: %q", got[0].Text)
			}
			drops := a.Expire(at.Add(time.Minute))
			switch {
			case tt.reason == "" && (len(drops) != 0 || a.Stats().Noise == 0):
				t.Errorf("drops %+v, noise %d; want the knocks counted as noise", drops, a.Stats().Noise)
			case tt.reason != "" && (len(drops) != 1 || !strings.Contains(drops[0].Reason, tt.reason) || drops[0].Src != alice):
				t.Errorf("drops %+v, want one from %v saying %q", drops, alice, tt.reason)
			}
		})
	}
}

// A message begun just before a period boundary and finished after it
// arrives even with skew 0: the period of its first knock decides.
func TestMessageStraddlesBoundary(t *testing.T) {
	cfg := testConfig()
	cfg.Skew = 0
	a := newAssembler(t, cfg)
	start := periodStart.Add(testPeriod - 100*time.Millisecond)
	evs := events(alice, encode(t, testKey, start, "across the boundary", 0), start, 5*time.Millisecond)
	if got := feed(a, evs); len(got) != 1 || got[0].Text != "across the boundary" {
		t.Fatalf("got %+v", got)
	}
	if portlang.PeriodAt(evs[len(evs)-1].Time, testPeriod) == portlang.PeriodAt(start, testPeriod) {
		t.Fatal("the knocks did not straddle the boundary")
	}
}

// Two sources knock at once, interleaved: each message arrives from its
// source; a second key (a rotation) works beside the first.
func TestMessagesInterleaved(t *testing.T) {
	cfg := testConfig()
	cfg.Keys = [][]byte{testKey, otherKey}
	a := newAssembler(t, cfg)
	at := periodStart.Add(time.Second)
	ea := events(alice, encode(t, testKey, at, "from alice", 2), at, time.Millisecond)
	eb := events(bob, encode(t, otherKey, at, "from bob ✓", 2), at, time.Millisecond)
	var evs []knock.Event
	for i := range max(len(ea), len(eb)) {
		if i < len(ea) {
			evs = append(evs, ea[i])
		}
		if i < len(eb) {
			evs = append(evs, eb[i])
		}
	}
	got := feed(a, evs)
	if len(got) != 2 || got[0].Text != "from alice" || got[0].Src != alice || got[1].Text != "from bob ✓" || got[1].Src != bob || got[1].Key != 1 {
		t.Fatalf("got %+v", got)
	}
	if id0, _ := got[0].ReplayID("notify"); id0 == func() [16]byte { id, _ := got[1].ReplayID("notify"); return id }() {
		t.Error("two messages share a replay id")
	}
}

// A flood of sources into the range never grows the assembler past
// MaxAttempts, does not allocate per knock once warm, and a message sent
// through it still arrives when the flood leaves room for it.
func TestFloodBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttempts = 64
	a := newAssembler(t, cfg)
	at := periodStart.Add(time.Second)
	rng := rand.New(rand.NewPCG(3, 4))
	flood := make([]knock.Event, 4096)
	for i := range flood {
		flood[i] = knock.Event{Time: at, Src: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), Proto: knock.TCP,
			Port: uint16(20000 + rng.IntN(12768)), Flags: knock.SYN}
	}
	feed(a, flood)
	n := 0
	allocs := testing.AllocsPerRun(2000, func() {
		a.Handle(&flood[n%len(flood)])
		n++
	})
	if len(a.attempts) > cfg.MaxAttempts {
		t.Errorf("%d attempts held, cap %d", len(a.attempts), cfg.MaxAttempts)
	}
	if allocs > 0 {
		t.Errorf("%v allocations per flood knock, want 0", allocs)
	}
	if got := feed(a, events(alice, encode(t, testKey, at, "still here", 0), at, 0)); len(got) != 1 {
		t.Errorf("the message did not arrive after the flood: %+v", got)
	}
	if s := a.Stats(); s.Evicted == 0 || s.Noise == 0 {
		t.Errorf("stats %+v: the flood neither evicted nor counted as noise", s)
	}
}

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		text string
		want string
	}{
		{"deploy v1.2 ✓", ""},
		{"", "is empty"},
		{"bad \xff utf-8", "not valid UTF-8"},
		{"nul\x00inside", "zero byte at byte 3"},
	} {
		err := CheckText([]byte(tt.text))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckText(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	c, err := NewCode(testKey, "notify", 1, testShape)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		text   string
		parity int
		want   string
	}{
		{"\xff", 0, "UTF-8"},
		{"ok", MaxParity + 1, "parity knocks"},
		{strings.Repeat("a", c.MaxText(0)+1), 0, "carries at most"},
	} {
		if _, err := c.Encode([]byte(tt.text), tt.parity); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Encode(%d bytes, %d) = %v, want %q", len(tt.text), tt.parity, err, tt.want)
		}
	}
	if _, err := NewCode(testKey, "notify", 1, portlang.Shape{Lo: 1000, Hi: 1100, Protos: []knock.Proto{knock.TCP}}); err == nil {
		t.Error("a range of 101 ports was accepted for messages")
	}
	cfg := testConfig()
	cfg.MaxBytes = c.MaxText(0) + 1
	if _, err := NewAssembler(cfg); err == nil || !strings.Contains(err.Error(), "carries at most") {
		t.Errorf("max_bytes beyond the range: %v", err)
	}
}

// Every symbol of the range is one knock and back: the permutation is a
// bijection, and differs from period to period.
func TestCodeIsAPermutation(t *testing.T) {
	c1, _ := NewCode(testKey, "notify", 1, testShape)
	c2, _ := NewCode(testKey, "notify", 2, testShape)
	seen := map[knock.Step]bool{}
	same := 0
	for sym := range c1.perm {
		st := c1.step(sym)
		if seen[st] {
			t.Fatalf("two symbols on %v", st)
		}
		seen[st] = true
		pos, nb, ok := c1.Decode(st)
		if !ok || pos*16+int(nb) != sym {
			t.Fatalf("symbol %d → %v → %d,%d,%v", sym, st, pos, nb, ok)
		}
		if c2.step(sym) == st {
			same++
		}
	}
	if same > len(c1.perm)/100 {
		t.Errorf("%d of %d symbols on the same knock in two periods", same, len(c1.perm))
	}
}

// BenchmarkAssemble reports knocks per second of message reassembly: a
// 200-byte message with 8 parity knocks, shuffled, through a new
// assembler each time (its three codes drawn once, as the daemon keeps
// them across messages).
func BenchmarkAssemble(b *testing.B) {
	at := periodStart.Add(time.Second)
	evs := events(alice, encode(b, testKey, at, mixed, 8), at, 0)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	a := newAssembler(b, testConfig())
	a.Handle(&evs[0]) // draw the codes
	a.Expire(at.Add(time.Hour))
	b.ReportAllocs()
	knocks := 0
	for b.Loop() {
		for i := range evs {
			if _, ok := a.Handle(&evs[i]); ok {
				break
			}
			knocks++
		}
		knocks++
		delete(a.attempts, alice) // the next message from the same source
	}
	b.ReportMetric(float64(knocks)/b.Elapsed().Seconds(), "knocks/s")
}

// Prepare draws the codes of the coming period before its first knock;
// a delivered message's replay record outlives every attempt that could
// deliver it again.
func TestPrepareAndExpires(t *testing.T) {
	a := newAssembler(t, testConfig())
	at := periodStart.Add(testPeriod - time.Second)
	if err := a.Prepare(at, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	next := portlang.PeriodAt(at, testPeriod) + 1
	for q := next - 1; q <= next+1; q++ {
		if _, ok := a.codes[codeKey{q, 0}]; !ok {
			t.Errorf("period %d's code was not drawn ahead", q)
		}
	}
	got := feed(a, events(alice, encode(t, testKey, at, "hi", 0), at, 0))
	if len(got) != 1 {
		t.Fatal("no message")
	}
	if want := portlang.PeriodStart(got[0].Period+2, testPeriod).Add(25 * time.Second); !a.Expires(got[0]).Equal(want) {
		t.Errorf("Expires = %v, want %v", a.Expires(got[0]), want)
	}
}

// Two texts from one source, one right after the other: both arrive. The
// first's late repeats are taken silently; the second's first knock ends
// the first's attempt.
func TestMessagesBackToBack(t *testing.T) {
	a := newAssembler(t, testConfig())
	at := periodStart.Add(time.Second)
	first := events(alice, encode(t, testKey, at, "deploy start", 2), at, time.Millisecond)
	second := events(alice, encode(t, testKey, at.Add(time.Second), "deploy done", 2), at.Add(time.Second), time.Millisecond)
	evs := append(append(first, first[:5]...), second...)
	got := feed(a, evs)
	if len(got) != 2 || got[0].Text != "deploy start" || got[1].Text != "deploy done" {
		t.Fatalf("got %+v, want both texts", got)
	}
	if drops := a.Expire(at.Add(time.Minute)); len(drops) != 0 {
		t.Errorf("drops %+v", drops)
	}
}

// A flood of new sources through a small assembler, one flood knock
// between each two knocks of a message: the flood evicts its own noisy
// attempts, not the message on its way.
func TestFloodDoesNotEvictMessage(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttempts = 8
	a := newAssembler(t, cfg)
	at := periodStart.Add(time.Second)
	msg := events(alice, encode(t, testKey, at, mixed, 4), at, time.Millisecond)
	var evs []knock.Event
	for i, ev := range msg {
		evs = append(evs, ev, knock.Event{Time: ev.Time, Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			Proto: knock.TCP, Port: uint16(20000 + i*7), Flags: knock.SYN})
	}
	got := feed(a, evs)
	if len(got) != 1 || got[0].Text != mixed {
		t.Fatalf("the message did not arrive through the flood: %d messages, stats %+v", len(got), a.Stats())
	}
	if a.Stats().Evicted == 0 {
		t.Error("nothing was evicted: the test did not fill the assembler")
	}
}

// Knocks spoofed with the sender's address, each naming a position of the
// frame with a wrong nibble and arriving before the sender's own, do not
// cost the message: the position is put in doubt and recovered from the
// header's copy or the parity (one per class).
func TestSpoofedKnocksRecovered(t *testing.T) {
	at := periodStart.Add(time.Second)
	c, err := NewCode(testKey, "notify", portlang.PeriodAt(at, testPeriod), testShape)
	if err != nil {
		t.Fatal(err)
	}
	nibbles := c.frame([]byte(mixed), 4)
	var spoofs []knock.Step
	for _, pos := range []int{2, 9, dataStart, dataStart + 1, dataStart + 2, dataStart + 3} { // two header nibbles, one data nibble per class
		spoofs = append(spoofs, c.step(pos*16+int((nibbles[pos]+1)%16)))
	}
	evs := append(events(alice, spoofs, at, 0), events(alice, encode(t, testKey, at, mixed, 4), at, time.Millisecond)...)
	a := newAssembler(t, testConfig())
	if got := feed(a, evs); len(got) != 1 || got[0].Text != mixed {
		t.Fatalf("the message did not survive %d spoofed knocks: %d arrived, drops %+v", len(spoofs), len(got), a.Expire(at.Add(time.Hour)))
	}
	// Two spoofed positions in one class are beyond what parity recovers:
	// no text, and the log's reason names the disagreeing knocks.
	a = newAssembler(t, testConfig())
	two := events(alice, []knock.Step{c.step(dataStart*16 + int((nibbles[dataStart]+1)%16)), c.step((dataStart+4)*16 + int((nibbles[dataStart+4]+1)%16))}, at, 0)
	if got := feed(a, append(two, evs[len(spoofs):]...)); len(got) != 0 {
		t.Fatalf("a message arrived with two positions of one class in doubt: %q", got[0].Text)
	}
	if drops := a.Expire(at.Add(time.Hour)); len(drops) != 1 || !strings.Contains(drops[0].Reason, "disagreed with ones before them") {
		t.Errorf("drops %+v, want the reason to name the disagreeing knocks", drops)
	}
}
