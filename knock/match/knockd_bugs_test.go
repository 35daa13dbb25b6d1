package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// Each test here reproduces a defect of knockd 0.8 listed in the
// reference: knockd's behaviour fails it.

// feedQuiet is feed for large inputs: it checks the matcher's structures
// once at the end instead of after every packet.
func feedQuiet(t testing.TB, m *Matcher, evs []knock.Event) []string {
	t.Helper()
	var opened []string
	var out []Match
	for n := range evs {
		out = m.Handle(&evs[n], out[:0])
		for _, o := range out {
			opened = append(opened, fmt.Sprintf("%s %s #%d", o.Name, o.Src, n))
		}
	}
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	return opened
}

func sortByTime(ks []kn) []kn {
	slices.SortStableFunc(ks, func(a, b kn) int { return int(a.at - b.at) })
	return ks
}

// knockd keeps one list of attempts; when its head ends (here: the
// scanner's attempt is reset), the next packet empties the whole list and
// the client's attempt is lost.
func TestNoCrossSourceWipe(t *testing.T) {
	packets := []kn{
		{at: 0, src: "198.51.100.7", port: 7000},               // scanner: head of knockd's list
		{at: 1 * time.Second, src: "203.0.113.5", port: 7000},  // client starts
		{at: 2 * time.Second, src: "198.51.100.7", port: 7000}, // scanner's attempt reset
		{at: 3 * time.Second, src: "203.0.113.5", port: 8000},  // knockd: list wiped here
		{at: 4 * time.Second, src: "203.0.113.5", port: 9000},
	}
	runCases(t, []matcherCase{{
		name:    "reset of another source's older attempt",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: packets,
		want:    []string{"ssh 203.0.113.5 #4"},
	}, {
		name:  "success of another source's older attempt",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "198.51.100.7", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 7000},
			{at: 2 * time.Second, src: "198.51.100.7", port: 8000},
			{at: 3 * time.Second, src: "198.51.100.7", port: 9000}, // opens; knockd removes the head next
			{at: 4 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 5 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 198.51.100.7 #3", "ssh 203.0.113.5 #5"},
	}, {
		name:  "timeout of another source's older attempt",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "198.51.100.7", port: 7000},
			{at: 20 * time.Second, src: "203.0.113.5", port: 7000},
			{at: 26 * time.Second, src: "203.0.113.5", port: 8000}, // the scanner's attempt expires now
			{at: 27 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}})
}

// With A = 7000,8000 defined before B = 7000,8000,9000, knockd never opens
// B: A's completed attempt heads the list and takes B's with it.
func TestPrefixDoorsAllFire(t *testing.T) {
	runCases(t, []matcherCase{{
		name:    "shorter door first",
		doors:   []knock.Door{door("a", 7000, 8000), door("b", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 9000),
		want:    []string{"a 203.0.113.5 #1", "b 203.0.113.5 #2"},
	}, {
		name:    "longer door first",
		doors:   []knock.Door{door("b", 7000, 8000, 9000), door("a", 7000, 8000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 9000),
		want:    []string{"a 203.0.113.5 #1", "b 203.0.113.5 #2"},
	}, {
		name:    "three nested doors",
		doors:   []knock.Door{door("a", 7000), door("b", 7000, 8000), door("c", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 9000),
		want:    []string{"a 203.0.113.5 #0", "b 203.0.113.5 #1", "c 203.0.113.5 #2"},
	}, {
		name:    "twice in a row",
		doors:   []knock.Door{door("a", 7000, 8000), door("b", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 9000, 7000, 8000, 9000),
		want:    []string{"a 203.0.113.5 #1", "b 203.0.113.5 #2", "a 203.0.113.5 #4", "b 203.0.113.5 #5"},
	}})
}

// knockd lost about a third of 3,000 knocks arriving within one second:
// every completed attempt at the head of its list dropped the others.
func TestBurstOfManySources(t *testing.T) {
	const sources = 3000
	m := New([]knock.Door{door("ssh", 7000, 8000, 9000)}, Options{IsLocal: isLocal})
	var evs []knock.Event
	// Every source sends its first knock, then every source its second,
	// then its third: 9,000 packets in one second.
	for step, port := range []uint16{7000, 8000, 9000} {
		for s := range sources {
			evs = append(evs, knock.Event{
				Time:  t0.Add(time.Duration(step*sources+s) * time.Second / (3 * sources)),
				Src:   netip.AddrFrom4([4]byte{10, 1, byte(s >> 8), byte(s)}),
				Dst:   local,
				Proto: knock.TCP, Port: port, Flags: knock.SYN,
			})
		}
	}
	got := feedQuiet(t, m, evs)
	if len(got) != sources {
		t.Errorf("%d of %d sources opened the door", len(got), sources)
	}
	if s := m.Stats(); s.Opened != sources || s.Tracked != 0 {
		t.Errorf("Stats: Opened %d, Tracked %d; want %d, 0", s.Opened, s.Tracked, sources)
	}
}

// knockd missed 6–12 of 20 knocks while another source hit the door's first
// port every few seconds: each of the scanner's resets wiped the list.
func TestScannerOnFirstPortDoesNotDenyOthers(t *testing.T) {
	const clients = 20
	var ks []kn
	for s := time.Duration(0); s < 70*time.Second; s += 2 * time.Second {
		ks = append(ks, kn{at: s, src: "198.51.100.7", port: 7000})
	}
	var want []string
	for c := range clients {
		src := fmt.Sprintf("203.0.113.%d", 10+c)
		// Knocks at 0.5, 1.5, 2.5 s after the start: a scanner hit falls
		// between two of them every time.
		ks = append(ks, knocks(src, time.Duration(c)*3*time.Second+500*time.Millisecond, 7000, 8000, 9000)...)
	}
	ks = sortByTime(ks)
	for n, k := range ks {
		if k.port == 9000 {
			want = append(want, fmt.Sprintf("ssh %s #%d", k.src, n))
		}
	}
	runCases(t, []matcherCase{{
		name:    "scanner every 2 s, 20 clients",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: ks,
		want:    want,
	}})
}

// floodEvents returns n SYNs to port from random IPv4 sources, 5 µs apart
// from start (200,000 per second, the generator's top rate here).
func floodEvents(rng *rand.Rand, n int, start time.Time, port uint16) []knock.Event {
	evs := make([]knock.Event, n)
	for i := range evs {
		evs[i] = knock.Event{
			Time:  start.Add(time.Duration(i) * 5 * time.Microsecond),
			Src:   netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}),
			Dst:   local,
			Proto: knock.TCP, Port: port, Flags: knock.SYN,
		}
	}
	return evs
}

// During a SYN flood from 100,000 random sources on the door's first port,
// knockd detected 0 to 2 of 10 valid knocks. Here the client's knock is
// split by more flood packets than the cap holds, so plain oldest-first
// eviction would lose it; ranking by progress keeps it.
func TestValidKnockDuringRandomSourceFlood(t *testing.T) {
	const floodSources = 100_000
	rng := rand.New(rand.NewPCG(1, 2))
	flood := floodEvents(rng, floodSources, t0, 7000)
	client := netip.MustParseAddr("203.0.113.5")
	clientKnock := func(i int, port uint16) knock.Event {
		return knock.Event{Time: flood[i].Time, Src: client, Dst: local, Proto: knock.TCP, Port: port, Flags: knock.SYN}
	}
	// The client's knocks go in before flood packets 30,000, 31,000 and
	// after the last one.
	var evs []knock.Event
	evs = append(evs, flood[:30_000]...)
	evs = append(evs, clientKnock(30_000, 7000))
	evs = append(evs, flood[30_000:31_000]...)
	evs = append(evs, clientKnock(31_000, 8000))
	evs = append(evs, flood[31_000:]...)
	evs = append(evs, knock.Event{Time: flood[len(flood)-1].Time.Add(time.Millisecond), Src: client, Dst: local, Proto: knock.TCP, Port: 9000, Flags: knock.SYN})
	if between := floodSources - 31_000; between <= DefaultMaxAttempts {
		t.Fatalf("test setup: %d flood packets between the client's 2nd and 3rd knock do not exceed the cap %d", between, DefaultMaxAttempts)
	}

	m := New([]knock.Door{door("ssh", 7000, 8000, 9000)}, Options{IsLocal: isLocal})
	got := feedQuiet(t, m, evs)
	want := []string{fmt.Sprintf("ssh %s #%d", client, len(evs)-1)}
	if d := diff(want, got); d != "" {
		t.Errorf("openings %s", d)
	}
	s := m.Stats()
	if s.Tracked > s.Capacity || s.Capacity != DefaultMaxAttempts {
		t.Errorf("Tracked %d, Capacity %d: want at most the default cap %d", s.Tracked, s.Capacity, DefaultMaxAttempts)
	}
	if s.Evicted == 0 {
		t.Errorf("Evicted = 0: the flood never filled the table, so the test proves nothing")
	}
}

// The same flood with ten clients knocking at different moments: every
// client whose first two knocks are close together gets in, however long
// it then waits for its last knock.
func TestSeveralClientsDuringFlood(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	flood := floodEvents(rng, 100_000, t0, 7000)
	const clients = 10
	type inject struct {
		before int // index of the flood packet it precedes
		ev     knock.Event
	}
	var injects []inject
	var want []string
	for c := range clients {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + c)})
		knockAt := func(i int, port uint16) inject {
			i = min(i, len(flood))
			return inject{i, knock.Event{Time: flood[min(i, len(flood)-1)].Time, Src: src, Dst: local, Proto: knock.TCP, Port: port, Flags: knock.SYN}}
		}
		// Client c sends 7000 before flood packet 9,000c, 8000 a hundred
		// flood packets later, and 9000 80,000 flood packets after that
		// (or at the end): more than the cap in between.
		base := 9000 * c
		injects = append(injects, knockAt(base, 7000), knockAt(base+100, 8000), knockAt(base+80_100, 9000))
		want = append(want, src.String())
	}
	slices.SortStableFunc(injects, func(a, b inject) int { return a.before - b.before })
	var evs []knock.Event
	j := 0
	for i := 0; i <= len(flood); i++ {
		for j < len(injects) && injects[j].before == i {
			evs = append(evs, injects[j].ev)
			j++
		}
		if i < len(flood) {
			evs = append(evs, flood[i])
		}
	}
	m := New([]knock.Door{door("ssh", 7000, 8000, 9000)}, Options{IsLocal: isLocal})
	var out []Match
	var opened []string
	for n := range evs {
		out = m.Handle(&evs[n], out[:0])
		for _, o := range out {
			opened = append(opened, o.Src.String())
		}
	}
	slices.Sort(opened)
	slices.Sort(want)
	if d := diff(want, opened); d != "" {
		t.Errorf("clients let in %s", d)
	}
}
