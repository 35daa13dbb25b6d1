package match

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// matcherCase is one scenario: doors, the packets, and the openings
// expected ("door src #packet-index").
type matcherCase struct {
	name    string
	doors   []knock.Door
	packets []kn
	want    []string
}

func runCases(t *testing.T, cases []matcherCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.doors, Options{IsLocal: isLocal})
			got := feed(t, m, tt.packets)
			if d := diff(tt.want, got); d != "" {
				t.Errorf("openings %s", d)
			}
		})
	}
}

func TestValidSequenceOpens(t *testing.T) {
	runCases(t, []matcherCase{{
		name:    "three SYNs in order",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 9000),
		want:    []string{"ssh 203.0.113.5 #2"},
	}, {
		name:    "wrong order",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 8000, 7000, 9000),
		want:    nil,
	}, {
		name:    "incomplete",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000),
		want:    nil,
	}, {
		name:    "IPv6 source",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("2001:db8::5", 0, 7000, 8000, 9000),
		want:    []string{"ssh 2001:db8::5 #2"},
	}, {
		name:    "again after opening",
		doors:   []knock.Door{door("ssh", 7000, 8000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 7000, 8000),
		want:    []string{"ssh 203.0.113.5 #1", "ssh 203.0.113.5 #3"},
	}})
}

func TestOtherPortsNeverReset(t *testing.T) {
	runCases(t, []matcherCase{{
		name:  "TCP port of no door between knocks",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 22},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 443},
			{at: 4 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #4"},
	}, {
		name:  "UDP to a port that is a TCP step",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 9000, proto: knock.UDP},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}, {
		name:  "door port with flags no door accepts",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 9000, flags: knock.ACK},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}, {
		name:  "door port sent to another host",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 9000, dst: other},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}})
}

func TestIgnoredEventsAreCounted(t *testing.T) {
	m := New([]knock.Door{door("ssh", 7000, 8000)}, Options{IsLocal: isLocal})
	feed(t, m, []kn{
		{src: "203.0.113.5", port: 22},
		{src: "203.0.113.5", port: 7000, flags: knock.ACK},
		{src: "203.0.113.5", port: 7000, dst: other},
		{src: "203.0.113.5", port: 7000, proto: knock.UDP},
		{src: "203.0.113.5", port: 7000},
	})
	s := m.Stats()
	if s.Events != 5 || s.Ignored != 4 || s.Started != 1 || s.Tracked != 1 {
		t.Errorf("Stats = %+v, want Events 5, Ignored 4, Started 1, Tracked 1", s)
	}
}

func TestWrongDoorPortResetsAndIsConsumed(t *testing.T) {
	runCases(t, []matcherCase{{
		name:  "first port repeated: reset, not restarted",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		// knockd: the second 7000 invalidates the attempt and is consumed,
		// so 8000, 9000 find no attempt.
		packets: knocks("203.0.113.5", 0, 7000, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "a later port of the same door",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 9000, 8000, 9000),
		want:    nil,
	}, {
		name:    "a port of another door",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000), door("web", 5000, 6000)},
		packets: knocks("203.0.113.5", 0, 7000, 6000, 8000, 9000),
		want:    nil,
	}, {
		name:    "after the reset a fresh start works",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 9000, 7000, 8000, 9000),
		want:    []string{"ssh 203.0.113.5 #4"},
	}})
}

func TestTCPFlagsMismatchIsIgnored(t *testing.T) {
	synNotAck := knock.Door{
		Name:     "ssh",
		Sequence: tcpSeq(7000, 8000, 9000),
		Flags:    knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK},
		Timeout:  25 * time.Second,
	}
	anyFlags := synNotAck
	anyFlags.Name, anyFlags.Flags = "any", knock.FlagMatch{}
	runCases(t, []matcherCase{{
		name:  "SYN-ACK on the next port is ignored, not a reset",
		doors: []knock.Door{synNotAck},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 8000, flags: knock.SYN | knock.ACK},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}, {
		name:  "a door with no flags counts every TCP packet",
		doors: []knock.Door{anyFlags},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000, flags: knock.ACK},
			{at: 1 * time.Second, src: "203.0.113.5", port: 8000, flags: knock.FIN},
			{at: 2 * time.Second, src: "203.0.113.5", port: 9000, flags: knock.RST},
		},
		want: []string{"any 203.0.113.5 #2"},
	}, {
		// The ACK passes the filter for "any", so it is a door port for
		// "ssh" too, but ssh's flags do not match: ignored by ssh.
		name:  "flags one door accepts and another does not",
		doors: []knock.Door{synNotAck, door("web", 5000, 9000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 5000, flags: knock.SYN | knock.ACK},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}})
}

func TestUDPSteps(t *testing.T) {
	mixed := knock.Door{
		Name:     "mixed",
		Sequence: []knock.Step{udp(4000), tcp(4000), udp(4001)},
		Flags:    knock.FlagMatch{Set: knock.SYN},
		Timeout:  25 * time.Second,
	}
	runCases(t, []matcherCase{{
		name:  "protocol per step",
		doors: []knock.Door{mixed},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 4000, proto: knock.UDP},
			{at: 1 * time.Second, src: "203.0.113.5", port: 4000},
			{at: 2 * time.Second, src: "203.0.113.5", port: 4001, proto: knock.UDP},
		},
		want: []string{"mixed 203.0.113.5 #2"},
	}, {
		name:  "UDP where TCP is expected resets",
		doors: []knock.Door{mixed},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 4000, proto: knock.UDP},
			{at: 1 * time.Second, src: "203.0.113.5", port: 4000, proto: knock.UDP},
			{at: 2 * time.Second, src: "203.0.113.5", port: 4000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 4001, proto: knock.UDP},
		},
		want: nil,
	}, {
		name:  "TCP flags do not apply to UDP knocks",
		doors: []knock.Door{mixed},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 4000, proto: knock.UDP},
			{at: 1 * time.Second, src: "203.0.113.5", port: 4000},
			{at: 2 * time.Second, src: "203.0.113.5", port: 4001, proto: knock.UDP, flags: knock.ACK},
		},
		want: []string{"mixed 203.0.113.5 #2"},
	}})
}

func TestSeveralDoorsStartOnOnePacket(t *testing.T) {
	doors := []knock.Door{door("a", 7000, 8000), door("b", 7000, 9000), door("one", 7000)}
	runCases(t, []matcherCase{{
		name:    "first door completes",
		doors:   doors,
		packets: knocks("203.0.113.5", 0, 7000, 8000),
		want:    []string{"one 203.0.113.5 #0", "a 203.0.113.5 #1"},
	}, {
		name:    "second door completes",
		doors:   doors,
		packets: knocks("203.0.113.5", 0, 7000, 9000),
		want:    []string{"one 203.0.113.5 #0", "b 203.0.113.5 #1"},
	}})
}

func TestOneStepDoorOpensOnEveryPacket(t *testing.T) {
	runCases(t, []matcherCase{{
		name:    "three knocks, three openings",
		doors:   []knock.Door{door("bell", 1000)},
		packets: knocks("203.0.113.5", 0, 1000, 1000, 1000),
		want:    []string{"bell 203.0.113.5 #0", "bell 203.0.113.5 #1", "bell 203.0.113.5 #2"},
	}})
	m := New([]knock.Door{door("bell", 1000)}, Options{})
	feed(t, m, knocks("203.0.113.5", 0, 1000, 1000, 1000))
	if got := m.Stats().Tracked; got != 0 {
		t.Errorf("one-step door without cooldown holds %d records, want 0", got)
	}
}

func TestRepeatedPortsInSequence(t *testing.T) {
	runCases(t, []matcherCase{{
		name:    "sent exactly",
		doors:   []knock.Door{door("rep", 1000, 1000, 1001)},
		packets: knocks("203.0.113.5", 0, 1000, 1000, 1001),
		want:    []string{"rep 203.0.113.5 #2"},
	}, {
		name:    "one repeat short",
		doors:   []knock.Door{door("rep", 1000, 1000, 1001)},
		packets: knocks("203.0.113.5", 0, 1000, 1001),
		want:    nil,
	}, {
		name:    "one repeat too many",
		doors:   []knock.Door{door("rep", 1000, 1000, 1001)},
		packets: knocks("203.0.113.5", 0, 1000, 1000, 1000, 1001),
		want:    nil,
	}, {
		name:    "port returning later",
		doors:   []knock.Door{door("abc", 1000, 2000, 1000)},
		packets: knocks("203.0.113.5", 0, 1000, 2000, 1000),
		want:    []string{"abc 203.0.113.5 #2"},
	}})
}

func TestTimeout(t *testing.T) {
	gapDoor := door("gap", 7000, 8000, 9000)
	gapDoor.TimeoutMode = knock.TimeoutGap
	gapDoor.Timeout = 10 * time.Second
	firstDoor := door("first", 7000, 8000, 9000)
	firstDoor.Timeout = 10 * time.Second
	at := func(src string, times []time.Duration, ports ...uint16) []kn {
		ks := make([]kn, len(ports))
		for i := range ports {
			ks[i] = kn{at: times[i], src: src, port: ports[i]}
		}
		return ks
	}
	s := time.Second
	runCases(t, []matcherCase{{
		name:    "from first: within the timeout",
		doors:   []knock.Door{firstDoor},
		packets: at("203.0.113.5", []time.Duration{0, 5 * s, 9 * s}, 7000, 8000, 9000),
		want:    []string{"first 203.0.113.5 #2"},
	}, {
		name:    "from first: last knock at exactly the timeout is late",
		doors:   []knock.Door{firstDoor},
		packets: at("203.0.113.5", []time.Duration{0, 5 * s, 10 * s}, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "from first: short gaps do not extend it",
		doors:   []knock.Door{firstDoor},
		packets: at("203.0.113.5", []time.Duration{0, 6 * s, 12 * s}, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "gap: short gaps, long total",
		doors:   []knock.Door{gapDoor},
		packets: at("203.0.113.5", []time.Duration{0, 6 * s, 12 * s}, 7000, 8000, 9000),
		want:    []string{"gap 203.0.113.5 #2"},
	}, {
		name:    "gap: one gap too long",
		doors:   []knock.Door{gapDoor},
		packets: at("203.0.113.5", []time.Duration{0, 2 * s, 12 * s}, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "expired attempt: its first port starts afresh",
		doors:   []knock.Door{firstDoor},
		packets: at("203.0.113.5", []time.Duration{0, 11 * s, 12 * s, 13 * s}, 7000, 7000, 8000, 9000),
		want:    []string{"first 203.0.113.5 #3"},
	}, {
		name:    "zero timeout: never expires",
		doors:   []knock.Door{{Name: "slow", Sequence: tcpSeq(7000, 8000)}},
		packets: at("203.0.113.5", []time.Duration{0, 1000 * time.Hour}, 7000, 8000),
		want:    []string{"slow 203.0.113.5 #1"},
	}})
}

// knockd checks timeouts only when the next packet arrives; here Expire
// also drops them, so memory is released without traffic.
func TestExpireDropsAttemptsByTimer(t *testing.T) {
	gapDoor := door("gap", 7000, 8000, 9000)
	gapDoor.TimeoutMode = knock.TimeoutGap
	gapDoor.Timeout = 5 * time.Second
	m := New([]knock.Door{door("first", 7000, 8000, 9000), gapDoor}, Options{})
	feed(t, m, concat(
		knocks("203.0.113.5", 0, 7000, 8000), // first: due at 25 s; gap: due at 6 s
		knocks("203.0.113.6", 20*time.Second, 7000),
	))
	// .5 started both doors at 0 s and reached stage 2 at 1 s: its
	// first-knock attempt is due at 25 s, its gap attempt at 6 s. .6
	// started both at 20 s: due at 45 s and 25 s.
	if got := m.Stats().Tracked; got != 4 {
		t.Fatalf("Tracked = %d before any expiry, want 4", got)
	}
	steps := []struct {
		now         time.Duration
		wantExpired int
		wantTracked int
	}{
		{now: 5 * time.Second, wantExpired: 0, wantTracked: 4},
		{now: 6 * time.Second, wantExpired: 1, wantTracked: 3},
		{now: 25 * time.Second, wantExpired: 2, wantTracked: 1},
		{now: 30 * time.Second, wantExpired: 0, wantTracked: 1},
		{now: 45 * time.Second, wantExpired: 1, wantTracked: 0},
	}
	for _, st := range steps {
		if got := m.Expire(t0.Add(st.now)); got != st.wantExpired {
			t.Errorf("Expire(+%v) = %d, want %d", st.now, got, st.wantExpired)
		}
		if got := m.Stats().Tracked; got != st.wantTracked {
			t.Errorf("after Expire(+%v): Tracked = %d, want %d", st.now, got, st.wantTracked)
		}
		if err := m.check(); err != nil {
			t.Fatal(err)
		}
	}
	// The expired attempt is gone: finishing it opens nothing.
	if got := feed(t, m, knocks("203.0.113.5", 46*time.Second, 9000)); len(got) != 0 {
		t.Errorf("expired attempt still opened: %v", got)
	}
	if got := m.Stats().Expired; got != 4 {
		t.Errorf("Stats.Expired = %d, want 4", got)
	}
}

func TestDestinations(t *testing.T) {
	target := netip.MustParseAddr("192.0.2.80")
	targeted := door("vip", 7000, 8000)
	targeted.Targets = []netip.Addr{target}
	at := func(dst netip.Addr, ports ...uint16) []kn {
		ks := knocks("203.0.113.5", 0, ports...)
		for i := range ks {
			ks[i].dst = dst
		}
		return ks
	}
	runCases(t, []matcherCase{{
		name:    "door without targets: local address",
		doors:   []knock.Door{door("ssh", 7000, 8000)},
		packets: at(local, 7000, 8000),
		want:    []string{"ssh 203.0.113.5 #1"},
	}, {
		name:    "door without targets: someone else's address",
		doors:   []knock.Door{door("ssh", 7000, 8000)},
		packets: at(other, 7000, 8000),
		want:    nil,
	}, {
		name:    "target door: its target",
		doors:   []knock.Door{targeted},
		packets: at(target, 7000, 8000),
		want:    []string{"vip 203.0.113.5 #1"},
	}, {
		name:    "target door: the local address is not its target",
		doors:   []knock.Door{targeted},
		packets: at(local, 7000, 8000),
		want:    nil,
	}, {
		name:  "a knock to one door's destination does not reset the other's",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000), targeted},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 8000, dst: target}, // starts nothing, resets nothing
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"ssh 203.0.113.5 #3"},
	}})
	t.Run("nil IsLocal accepts every destination", func(t *testing.T) {
		m := New([]knock.Door{door("ssh", 7000, 8000)}, Options{})
		if got, want := feed(t, m, at(other, 7000, 8000)), []string{"ssh 203.0.113.5 #1"}; diff(want, got) != "" {
			t.Errorf("openings %s", diff(want, got))
		}
	})
}

func TestAllowDuplicates(t *testing.T) {
	tolerant := door("tolerant", 7000, 8000, 9000)
	tolerant.AllowDuplicates = true
	strict := door("strict", 7000, 8000, 9000)
	runCases(t, []matcherCase{{
		name:    "repeat of the step just matched: ignored",
		doors:   []knock.Door{tolerant},
		packets: knocks("203.0.113.5", 0, 7000, 7000, 8000, 8000, 8000, 9000),
		want:    []string{"tolerant 203.0.113.5 #5"},
	}, {
		name:    "repeat without the option: reset",
		doors:   []knock.Door{strict},
		packets: knocks("203.0.113.5", 0, 7000, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "repeat of an older step still resets",
		doors:   []knock.Door{tolerant},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 7000, 9000),
		want:    nil,
	}, {
		name: "repeated ports in the sequence still advance",
		doors: []knock.Door{func() knock.Door {
			d := door("rep", 1000, 1000, 1001)
			d.AllowDuplicates = true
			return d
		}()},
		packets: knocks("203.0.113.5", 0, 1000, 1000, 1000, 1001),
		want:    []string{"rep 203.0.113.5 #3"},
	}})
}

func TestCooldown(t *testing.T) {
	cool := door("ssh", 7000, 8000)
	cool.Cooldown = time.Minute
	m := New([]knock.Door{cool}, Options{})
	got := feed(t, m, concat(
		knocks("203.0.113.5", 0, 7000, 8000),              // opens
		knocks("203.0.113.5", 10*time.Second, 7000, 8000), // within a minute: suppressed
		knocks("203.0.113.6", 20*time.Second, 7000, 8000), // another source: opens
		knocks("203.0.113.5", 61*time.Second, 7000, 8000), // a minute after the first success: opens
	))
	want := []string{"ssh 203.0.113.5 #1", "ssh 203.0.113.6 #5", "ssh 203.0.113.5 #7"}
	if d := diff(want, got); d != "" {
		t.Errorf("openings %s", d)
	}
	if s := m.Stats(); s.Suppressed != 1 || s.Opened != 3 {
		t.Errorf("Stats: Suppressed %d, Opened %d; want 1, 3", s.Suppressed, s.Opened)
	}
	// Once the cooldowns end, Expire releases their records.
	m.Expire(t0.Add(10 * time.Minute))
	if got := m.Stats().Tracked; got != 0 {
		t.Errorf("Tracked = %d after every cooldown ended, want 0", got)
	}
}

func TestCooldownOnOneStepDoor(t *testing.T) {
	bell := door("bell", 1000)
	bell.Cooldown = 5 * time.Second
	m := New([]knock.Door{bell}, Options{})
	ks := make([]kn, 10)
	for i := range ks {
		ks[i] = kn{at: time.Duration(i) * time.Second, src: "203.0.113.5", port: 1000}
	}
	got := feed(t, m, ks)
	want := []string{"bell 203.0.113.5 #0", "bell 203.0.113.5 #5"}
	if d := diff(want, got); d != "" {
		t.Errorf("openings %s", d)
	}
}

// knockd starts doors only for a source with no attempt in progress: an
// event that one of the source's attempts takes (a step, an opening, a
// tolerated repeat, a TCP flags mismatch, a reset) starts no door. Before
// this rule the 9000 that opens Debian's openSSH also started closeSSH,
// whose stale attempt then swallowed the real closing knock.
func TestEventTakenByAnAttemptStartsNoDoor(t *testing.T) {
	debianOpen := door("openSSH", 7000, 8000, 9000)
	debianOpen.Timeout = 5 * time.Second
	debianClose := door("closeSSH", 9000, 8000, 7000)
	debianClose.Timeout = 5 * time.Second
	synNotAck := door("ssh", 7000, 8000, 9000)
	synNotAck.Flags = knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}
	tolerant := door("tolerant", 7000, 8000, 9000)
	tolerant.AllowDuplicates = true
	expiring := door("ssh", 7000, 8000, 9000)
	expiring.Timeout = 10 * time.Second
	target := netip.MustParseAddr("192.0.2.80")
	vip := door("vip", 8000, 8001)
	vip.Targets = []netip.Addr{target}
	runCases(t, []matcherCase{{
		name:  "a knock that completes a door starts no other door (Debian's openSSH/closeSSH)",
		doors: []knock.Door{debianOpen, debianClose},
		packets: concat(
			knocks("203.0.113.5", 0, 7000, 8000, 9000),
			knocks("203.0.113.5", 3*time.Second, 9000, 8000, 7000),
			knocks("203.0.113.5", 6*time.Second, 7000, 8000, 9000),
		),
		want: []string{"openSSH 203.0.113.5 #2", "closeSSH 203.0.113.5 #5", "openSSH 203.0.113.5 #8"},
	}, {
		name:  "a knock that resets an attempt starts no door, not even one it begins",
		doors: []knock.Door{door("a", 7000, 7001, 7002), door("b", 8000, 8001)},
		// 8000 resets a and is spent; 8001 then finds no attempt and
		// is no first step; the second try at b opens it.
		packets: knocks("203.0.113.5", 0, 7000, 8000, 8001, 8000, 8001),
		want:    []string{"b 203.0.113.5 #4"},
	}, {
		name:    "a one-step door does not open on the knock that completes another door",
		doors:   []knock.Door{door("bell", 9000), door("long", 7000, 9000)},
		packets: knocks("203.0.113.5", 0, 7000, 9000, 9000),
		want:    []string{"long 203.0.113.5 #1", "bell 203.0.113.5 #2"},
	}, {
		name:    "a repeat tolerated by AllowDuplicates starts no door",
		doors:   []knock.Door{tolerant, door("bell", 8000)},
		packets: knocks("203.0.113.5", 0, 7000, 8000, 8000, 9000, 8000),
		want:    []string{"tolerant 203.0.113.5 #3", "bell 203.0.113.5 #4"},
	}, {
		// knockd: an attempt whose flags the packet fails ignores it,
		// and the packet, found by that attempt, starts nothing.
		name:  "a knock an attempt ignores for its TCP flags starts no door",
		doors: []knock.Door{synNotAck, door("web", 5000, 6000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 5000, flags: knock.SYN | knock.ACK}, // ssh ignores it; web not started
			{at: 2 * time.Second, src: "203.0.113.5", port: 6000},                               // resets ssh, opens nothing
			{at: 3 * time.Second, src: "203.0.113.5", port: 5000},
			{at: 4 * time.Second, src: "203.0.113.5", port: 6000},
		},
		want: []string{"web 203.0.113.5 #4"},
	}, {
		// knockd looks only at the source's attempts whose door
		// accepts the packet's destination.
		name:  "an attempt for another destination neither sees nor holds the knock",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000), vip},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.5", port: 8000, dst: target}, // starts vip beside ssh
			{at: 2 * time.Second, src: "203.0.113.5", port: 8001, dst: target}, // opens vip
			{at: 3 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 4 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"vip 203.0.113.5 #2", "ssh 203.0.113.5 #4"},
	}, {
		name:  "an expired attempt holds nothing",
		doors: []knock.Door{expiring, door("bell", 8000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 11 * time.Second, src: "203.0.113.5", port: 8000},
		},
		want: []string{"bell 203.0.113.5 #1"},
	}, {
		name:  "another source's attempt holds nothing",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000), door("bell", 8000)},
		packets: []kn{
			{at: 0, src: "203.0.113.5", port: 7000},
			{at: 1 * time.Second, src: "203.0.113.6", port: 8000},
			{at: 2 * time.Second, src: "203.0.113.5", port: 8000},
			{at: 3 * time.Second, src: "203.0.113.5", port: 9000},
		},
		want: []string{"bell 203.0.113.6 #1", "ssh 203.0.113.5 #3"},
	}})
}

func TestMatchesInDoorOrder(t *testing.T) {
	names := func(out []Match) (got []string) {
		for _, o := range out {
			got = append(got, fmt.Sprintf("%d %s", o.Door, o.Name))
		}
		return got
	}
	t.Run("attempts completing on one packet, after a reload reversed the doors", func(t *testing.T) {
		x, y := door("x", 7000, 9000), door("y", 7000, 9000)
		m := New([]knock.Door{x, y}, Options{})
		ev := kn{src: "203.0.113.5", port: 7000}.event()
		m.Handle(&ev, nil)
		m.Reload([]knock.Door{y, x})
		ev = kn{at: time.Second, src: "203.0.113.5", port: 9000}.event()
		if d := diff([]string{"0 y", "1 x"}, names(m.Handle(&ev, nil))); d != "" {
			t.Errorf("doors opened by the last packet %s", d)
		}
	})
	t.Run("doors starting and opening on one packet", func(t *testing.T) {
		m := New([]knock.Door{door("bell1", 9000), door("long", 9000, 7000), door("bell2", 9000)}, Options{})
		ev := kn{src: "203.0.113.5", port: 9000}.event()
		if d := diff([]string{"0 bell1", "2 bell2"}, names(m.Handle(&ev, nil))); d != "" {
			t.Errorf("doors opened by the packet %s", d)
		}
	})
}

func TestHandleAppends(t *testing.T) {
	m := New([]knock.Door{door("bell", 1000)}, Options{})
	out := []Match{{Name: "earlier"}}
	ev := kn{src: "203.0.113.5", port: 1000}.event()
	out = m.Handle(&ev, out)
	if len(out) != 2 || out[0].Name != "earlier" || out[1].Name != "bell" {
		t.Errorf("Handle(out) = %+v, want the earlier Match kept and bell appended", out)
	}
}

func TestSourcesAreIndependent(t *testing.T) {
	// Two sources interleave their knocks, one of them with a mistake.
	packets := []kn{
		{at: 0, src: "203.0.113.5", port: 7000},
		{at: 1, src: "203.0.113.6", port: 7000},
		{at: 2, src: "203.0.113.6", port: 9000}, // .6 resets
		{at: 3, src: "203.0.113.5", port: 8000},
		{at: 4, src: "203.0.113.6", port: 8000},
		{at: 5, src: "203.0.113.5", port: 9000},
	}
	runCases(t, []matcherCase{{
		name:    "one mistake resets only its sender",
		doors:   []knock.Door{door("ssh", 7000, 8000, 9000)},
		packets: packets,
		want:    []string{"ssh 203.0.113.5 #5"},
	}})
}

func TestInvalidSourceIsIgnored(t *testing.T) {
	m := New([]knock.Door{door("bell", 1000)}, Options{})
	ev := knock.Event{Time: t0, Dst: local, Proto: knock.TCP, Port: 1000, Flags: knock.SYN}
	if out := m.Handle(&ev, nil); len(out) != 0 {
		t.Errorf("event without a source opened %v", out)
	}
	if got := m.Stats().Ignored; got != 1 {
		t.Errorf("Ignored = %d, want 1", got)
	}
}

func TestEmptyAndNoDoors(t *testing.T) {
	m := New(nil, Options{})
	if got := feed(t, m, knocks("203.0.113.5", 0, 1000, 2000)); len(got) != 0 {
		t.Errorf("no doors, yet opened %v", got)
	}
	m = New([]knock.Door{{Name: "used up"}}, Options{})
	if got := feed(t, m, knocks("203.0.113.5", 0, 1000, 2000)); len(got) != 0 {
		t.Errorf("empty sequence, yet opened %v", got)
	}
}

func TestCooldownOfCenturiesNeverEnds(t *testing.T) {
	forever := door("ssh", 7000, 8000)
	forever.Cooldown = time.Duration(math.MaxInt64)
	m := New([]knock.Door{forever}, Options{})
	got := feed(t, m, concat(
		knocks("203.0.113.5", 0, 7000, 8000),
		knocks("203.0.113.5", 24*time.Hour, 7000, 8000),
	))
	if d := diff([]string{"ssh 203.0.113.5 #1"}, got); d != "" {
		t.Errorf("openings %s", d)
	}
}

// windowed returns door d whose attempts may start only within [from, until)
// after t0, as the daemon derives for one period of a rotating door.
func windowed(d knock.Door, from, until time.Duration) knock.Door {
	d.Starts = knock.Window{From: t0.Add(from), Until: t0.Add(until)}
	return d
}

// A door with a Starts window starts only on a first knock inside it, and
// an attempt begun inside it completes after it ends (a sequence that
// straddles a period boundary); a knocker early or late starts nothing.
func TestStartsWindow(t *testing.T) {
	runCases(t, []matcherCase{{
		name:    "inside",
		doors:   []knock.Door{windowed(door("rot", 7000, 8000, 9000), 0, 10*time.Second)},
		packets: knocks("203.0.113.5", 2*time.Second, 7000, 8000, 9000),
		want:    []string{"rot 203.0.113.5 #2"},
	}, {
		name:    "begun inside, finished after the window",
		doors:   []knock.Door{windowed(door("rot", 7000, 8000, 9000), 0, 10*time.Second)},
		packets: knocks("203.0.113.5", 9*time.Second, 7000, 8000, 9000),
		want:    []string{"rot 203.0.113.5 #2"},
	}, {
		name:    "first knock at the window's end",
		doors:   []knock.Door{windowed(door("rot", 7000, 8000, 9000), 0, 10*time.Second)},
		packets: knocks("203.0.113.5", 10*time.Second, 7000, 8000, 9000),
		want:    nil,
	}, {
		name:    "first knock before the window",
		doors:   []knock.Door{windowed(door("rot", 7000, 8000, 9000), 10*time.Second, 20*time.Second)},
		packets: knocks("203.0.113.5", 9*time.Second, 7000, 8000, 9000),
		want:    nil,
	}, {
		name: "two periods' doors, the one whose window holds the knock opens",
		doors: []knock.Door{
			windowed(door("rot", 7000, 8000), 0, 10*time.Second),
			windowed(door("rot", 7000, 8001), 10*time.Second, 20*time.Second),
		},
		packets: concat(knocks("203.0.113.5", 11*time.Second, 7000, 8000), knocks("203.0.113.5", 13*time.Second, 7000, 8001)),
		want:    []string{"rot 203.0.113.5 #3"},
	}})
}

// ranged returns door d as one period's door of a rotating door whose
// range is lo-hi (TCP).
func ranged(d knock.Door, lo, hi uint16) knock.Door {
	d.Rotating = &knock.Rotating{PortLo: lo, PortHi: hi, Protos: []knock.Proto{knock.TCP}}
	return d
}

// sweep is an attacker's knocks on every port of lo-hi, ascending, times
// times over, 1 ms apart.
func sweep(src string, lo, hi uint16, times int) []kn {
	var ks []kn
	for range times {
		for p := int(lo); p <= int(hi); p++ {
			ks = append(ks, kn{at: time.Duration(len(ks)) * time.Millisecond, src: src, port: uint16(p)})
		}
	}
	return ks
}

// The attacker sweeps a door's range: with knockd's rule (ports that are
// no door's step are not even seen) a sweep finds any ascending sequence;
// a rotating door counts every knock in its range, so a wrong guess resets
// the attempt and only the sequence itself opens.
func TestRangeSweep(t *testing.T) {
	seq := door("rot", 110, 130, 150, 170) // ascending: what a sweep finds
	runCases(t, []matcherCase{{
		name:    "knockd's rule: the sweep opens",
		doors:   []knock.Door{seq},
		packets: sweep("203.0.113.66", 100, 199, 4),
		want:    []string{"rot 203.0.113.66 #70", "rot 203.0.113.66 #170", "rot 203.0.113.66 #270", "rot 203.0.113.66 #370"},
	}, {
		name:    "a rotating door: the sweep opens nothing",
		doors:   []knock.Door{ranged(seq, 100, 199)},
		packets: sweep("203.0.113.66", 100, 199, 4),
		want:    nil,
	}, {
		name:    "a rotating door: its sequence opens",
		doors:   []knock.Door{ranged(seq, 100, 199)},
		packets: knocks("203.0.113.5", 0, 110, 130, 150, 170),
		want:    []string{"rot 203.0.113.5 #3"},
	}, {
		name:    "a rotating door: a wrong knock in the range resets",
		doors:   []knock.Door{ranged(seq, 100, 199)},
		packets: knocks("203.0.113.5", 0, 110, 130, 131, 150, 170),
		want:    nil,
	}, {
		name:    "a rotating door: knocks outside the range do not count",
		doors:   []knock.Door{ranged(seq, 100, 199)},
		packets: knocks("203.0.113.5", 0, 110, 99, 130, 200, 150, 170),
		want:    []string{"rot 203.0.113.5 #5"},
	}})
}
