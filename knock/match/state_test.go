package match

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

func TestReloadKeepsAttemptsOfUnchangedDoors(t *testing.T) {
	before := []knock.Door{
		door("ssh", 7000, 8000, 9000),
		door("web", 7000, 8500, 9500),
		door("mail", 7000, 6000),
	}
	m := New(before, Options{IsLocal: isLocal})
	// Three sources each start all three doors.
	feed(t, m, concat(
		knocks("203.0.113.1", 0, 7000),
		knocks("203.0.113.2", 0, 7000),
		knocks("203.0.113.3", 0, 7000),
	))
	webSlower := door("web", 7000, 8500, 9500)
	webSlower.Timeout = time.Minute
	after := []knock.Door{
		door("new", 5000, 5001),
		door("mail", 7000, 6001), // sequence changed
		door("ssh", 7000, 8000, 9000),
		webSlower, // timeout changed
	}
	m.Reload(after)
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	if got := m.Stats().Tracked; got != 3 {
		t.Errorf("Tracked = %d after reload, want 3 (ssh's attempts only)", got)
	}
	got := feed(t, m, concat(
		knocks("203.0.113.1", 2*time.Second, 8000, 9000), // ssh, kept, now door 2
		knocks("203.0.113.2", 2*time.Second, 8500, 9500), // web: dropped, would open if kept
		knocks("203.0.113.3", 2*time.Second, 6001),       // mail: dropped, would open if kept
	))
	want := []string{"ssh 203.0.113.1 #1"}
	if d := diff(want, got); d != "" {
		t.Errorf("openings after reload %s", d)
	}
	// Matches carry the new door numbers.
	m2 := New(before, Options{})
	feed(t, m2, knocks("203.0.113.1", 0, 7000, 8000))
	m2.Reload(after)
	ev := kn{at: 2 * time.Second, src: "203.0.113.1", port: 9000}.event()
	if out := m2.Handle(&ev, nil); len(out) != 1 || out[0].Door != 2 || out[0].Name != "ssh" {
		t.Errorf("Match after reload = %+v, want door 2 \"ssh\"", out)
	}
}

func TestReloadKeepsCooldownsOfUnchangedDoors(t *testing.T) {
	cool := door("ssh", 7000, 8000)
	cool.Cooldown = time.Minute
	m := New([]knock.Door{cool}, Options{})
	feed(t, m, knocks("203.0.113.1", 0, 7000, 8000))
	m.Reload([]knock.Door{door("other", 1000), cool})
	if got := feed(t, m, knocks("203.0.113.1", 10*time.Second, 7000, 8000)); len(got) != 0 {
		t.Errorf("opened within the cooldown after a reload: %v", got)
	}
	if got := m.Stats().Suppressed; got != 1 {
		t.Errorf("Suppressed = %d, want 1", got)
	}
}

func TestSetSequenceInstallsTheNextOneTimeSequence(t *testing.T) {
	m := New([]knock.Door{door("otp", 1000, 2000), door("ssh", 7000, 8000)}, Options{})
	got := feed(t, m, concat(
		knocks("203.0.113.2", 0, 7000),       // .2: in progress on ssh
		knocks("203.0.113.1", 0, 1000, 2000), // .1 opens otp
	))
	if d := diff([]string{"otp 203.0.113.1 #2"}, got); d != "" {
		t.Fatalf("openings %s", d)
	}
	// .3: in progress on otp's old sequence.
	feed(t, m, knocks("203.0.113.3", 5*time.Second, 1000))
	m.SetSequence(0, tcpSeq(3000, 4000))
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	got = feed(t, m, concat(
		knocks("203.0.113.1", 10*time.Second, 1000, 2000), // the used sequence: nothing
		knocks("203.0.113.3", 10*time.Second, 2000),       // attempt on the old sequence: dropped
		knocks("203.0.113.2", 10*time.Second, 8000),       // other doors untouched
		knocks("203.0.113.3", 12*time.Second, 3000, 4000), // the new sequence
	))
	want := []string{"ssh 203.0.113.2 #3", "otp 203.0.113.3 #5"}
	if d := diff(want, got); d != "" {
		t.Errorf("openings after SetSequence %s", d)
	}

	m.SetSequence(0, nil) // one-time sequences used up: the door closes
	if got := feed(t, m, knocks("203.0.113.3", 20*time.Second, 3000, 4000, 1000, 2000)); len(got) != 0 {
		t.Errorf("closed door opened: %v", got)
	}
}

func TestSetSequenceRejectsUnknownDoor(t *testing.T) {
	var logs bytes.Buffer
	m := New([]knock.Door{door("otp", 1000, 2000)}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	m.SetSequence(1, tcpSeq(3000))
	m.SetSequence(-1, tcpSeq(3000))
	if !strings.Contains(logs.String(), "door that does not exist") {
		t.Errorf("log = %q, want an error naming the missing door", logs.String())
	}
	if got := feed(t, m, knocks("203.0.113.1", 0, 1000, 2000)); len(got) != 1 {
		t.Errorf("door 0 should still open on its sequence, opened %v", got)
	}
}

func TestRecordsNeverExceedTheCap(t *testing.T) {
	for _, maxAttempts := range []int{1, 2, 7, 64} {
		t.Run(fmt.Sprint(maxAttempts), func(t *testing.T) {
			m := New([]knock.Door{door("a", 7000, 8000), door("b", 7000, 9000)}, Options{MaxAttempts: maxAttempts})
			var ks []kn
			for i := range 300 {
				ks = append(ks, kn{at: time.Duration(i) * time.Millisecond, src: fmt.Sprintf("10.0.%d.%d", i/250, i%250), port: 7000})
			}
			feed(t, m, ks)
			s := m.Stats()
			if s.Tracked != maxAttempts || s.Capacity != maxAttempts {
				t.Errorf("Tracked %d, Capacity %d; want both %d", s.Tracked, s.Capacity, maxAttempts)
			}
			if want := uint64(2*300 - maxAttempts); s.Evicted != want {
				t.Errorf("Evicted = %d, want %d", s.Evicted, want)
			}
		})
	}
}

func TestEvictionTakesTheLeastAdvancedOldestAttempt(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		packets     []kn
		want        []string
	}{{
		name:        "flood at stage 1 does not evict stage 2",
		maxAttempts: 3,
		packets: concat(
			knocks("203.0.113.5", 0, 7000, 8000),
			knocks("10.0.0.1", 2*time.Second, 7000), knocks("10.0.0.2", 2*time.Second, 7000),
			knocks("10.0.0.3", 2*time.Second, 7000), knocks("10.0.0.4", 2*time.Second, 7000),
			knocks("10.0.0.5", 2*time.Second, 7000), knocks("10.0.0.6", 2*time.Second, 7000),
			knocks("203.0.113.5", 3*time.Second, 9000),
		),
		want: []string{"ssh 203.0.113.5 #8"},
	}, {
		name:        "within a stage the least recently touched goes first",
		maxAttempts: 2,
		packets: concat(
			knocks("10.0.0.1", 0, 7000),
			knocks("10.0.0.2", time.Second, 7000),
			knocks("10.0.0.3", 2*time.Second, 7000), // evicts .1
			knocks("10.0.0.1", 3*time.Second, 8000), // .1 was evicted: nothing; .2 and .3 remain
			knocks("10.0.0.2", 4*time.Second, 8000, 9000),
			knocks("10.0.0.3", 6*time.Second, 8000, 9000),
		),
		want: []string{"ssh 10.0.0.2 #5", "ssh 10.0.0.3 #7"},
	}, {
		name:        "the highest stage survives when all are full",
		maxAttempts: 2,
		packets: concat(
			knocks("10.0.0.1", 0, 7000, 8000),
			knocks("10.0.0.2", time.Second, 7000),
			knocks("10.0.0.3", 2*time.Second, 7000), // evicts .2, the only stage-1 attempt
			knocks("10.0.0.1", 3*time.Second, 9000),
			knocks("10.0.0.2", 4*time.Second, 8000, 9000),
		),
		want: []string{"ssh 10.0.0.1 #4"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New([]knock.Door{door("ssh", 7000, 8000, 9000)}, Options{MaxAttempts: tt.maxAttempts})
			got := feed(t, m, tt.packets)
			if d := diff(tt.want, got); d != "" {
				t.Errorf("openings %s", d)
			}
		})
	}
}

func TestCooldownHoldsAreEvictedLast(t *testing.T) {
	cool := door("ssh", 7000, 8000)
	cool.Cooldown = time.Hour
	m := New([]knock.Door{cool}, Options{MaxAttempts: 2})
	var ks []kn
	ks = append(ks, knocks("203.0.113.5", 0, 7000, 8000)...) // opens; cooldown held
	for i := range 50 {
		ks = append(ks, kn{at: 3 * time.Second, src: fmt.Sprintf("10.0.0.%d", i+1), port: 7000})
	}
	ks = append(ks, knocks("203.0.113.5", 4*time.Second, 7000, 8000)...) // still cooling down
	got := feed(t, m, ks)
	if d := diff([]string{"ssh 203.0.113.5 #1"}, got); d != "" {
		t.Errorf("openings %s", d)
	}
	if s := m.Stats(); s.Suppressed != 1 {
		t.Errorf("Suppressed = %d, want 1: the flood shed the cooldown", s.Suppressed)
	}
}

func TestEvictionIsLoggedByExpire(t *testing.T) {
	var logs bytes.Buffer
	m := New([]knock.Door{door("ssh", 7000, 8000)}, Options{MaxAttempts: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	feed(t, m, []kn{{src: "10.0.0.1", port: 7000}, {src: "10.0.0.2", port: 7000}, {src: "10.0.0.3", port: 7000}})
	m.Expire(t0)
	if !strings.Contains(logs.String(), "evicted=1") {
		t.Errorf("log = %q, want a warning counting 1 eviction", logs.String())
	}
	logs.Reset()
	m.Expire(t0)
	if logs.Len() != 0 {
		t.Errorf("second Expire with no new eviction logged %q", logs.String())
	}
}

func TestDebugLogNamesSourceDoorAndStage(t *testing.T) {
	var logs bytes.Buffer
	m := New([]knock.Door{door("ssh", 7000, 8000)}, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	feed(t, m, knocks("203.0.113.5", 0, 7000, 8000))
	for _, want := range []string{"msg=\"match: stage\" src=203.0.113.5 door=ssh stage=1 of=2", "msg=\"match: open\" src=203.0.113.5 door=ssh"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("debug log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestManySourcesShareTheIndex(t *testing.T) {
	// Enough sources to make probe runs collide and wrap, removed in an
	// order different from insertion: every remaining one stays findable.
	m := New([]knock.Door{door("ssh", 7000, 8000)}, Options{MaxAttempts: 512})
	var ks []kn
	for i := range 512 {
		ks = append(ks, kn{src: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}).String(), port: 7000})
	}
	for i := 0; i < 512; i += 3 {
		ks = append(ks, kn{at: time.Second, src: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}).String(), port: 8000})
	}
	got := feed(t, m, ks)
	if len(got) != 171 {
		t.Errorf("%d sources opened, want 171", len(got))
	}
	if s := m.Stats(); s.Tracked != 512-171 {
		t.Errorf("Tracked = %d, want %d", s.Tracked, 512-171)
	}
}

func TestHandleDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		evs  []knock.Event
	}{
		{name: "valid knocks", evs: steadyKnocks(4)},
		{name: "flood at the cap", evs: floodEvents(newRand(), 4096, t0, 7000)},
		{name: "port of no door", evs: []knock.Event{{Time: t0, Src: local, Dst: local, Proto: knock.TCP, Port: 22, Flags: knock.SYN}}},
	}
	for _, tt := range tests {
		for _, reporting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/OnProgress=%v", tt.name, reporting), func(t *testing.T) {
				opts := Options{MaxAttempts: 1024, IsLocal: isLocal}
				reports := 0
				if reporting {
					opts.OnProgress = func(Progress) { reports++ }
				}
				m := New(benchDoors(), opts)
				out := make([]Match, 0, 8)
				n := 0
				allocs := testing.AllocsPerRun(10000, func() {
					ev := tt.evs[n%len(tt.evs)]
					ev.Time = t0.Add(time.Duration(n) * time.Microsecond)
					out = m.Handle(&ev, out[:0])
					n++
				})
				if allocs != 0 {
					t.Errorf("Handle allocates %v times per event, want 0", allocs)
				}
				if reporting && m.Stats().Ignored < m.Stats().Events && reports == 0 {
					t.Errorf("OnProgress was never called for %d counted events", m.Stats().Events-m.Stats().Ignored)
				}
			})
		}
	}
}
