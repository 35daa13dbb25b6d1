package source

import (
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// memCache is a replay cache in memory.
type memCache map[[16]byte]time.Time

func (m memCache) Add(id [16]byte, expires time.Time) (bool, error) {
	if _, ok := m[id]; ok {
		return false, nil
	}
	m[id] = expires
	return true, nil
}

type logLine struct {
	level slog.Level
	msg   string
}

func rotatingDoor(t *testing.T, keys int) (knock.Door, [][]byte) {
	t.Helper()
	dir := t.TempDir()
	d := knock.Door{Name: "ssh", Timeout: 5 * time.Second, Rotating: &knock.Rotating{
		Period: 10 * time.Second, Skew: 1, Length: 4, PortLo: 20000, PortHi: 59999, Protos: []knock.Proto{knock.TCP}}}
	var ks [][]byte
	for i := range keys {
		path := filepath.Join(dir, "k"+string(rune('0'+i)))
		if err := portlang.WriteKeyFile(path); err != nil {
			t.Fatal(err)
		}
		k, _ := portlang.ReadKeyFile(path)
		ks = append(ks, k)
		d.Rotating.SecretFiles = append(d.Rotating.SecretFiles, path)
	}
	return d, ks
}

// A rotating door offers, in the middle of period P, the sequences of
// P-1, P and P+1 (skew 1), each under every key, each with the window of
// first-knock periods within the skew, exactly as portlang derives them;
// the next change is the next time a period enters or leaves the offer.
func TestRotatingCurrent(t *testing.T) {
	door, keys := rotatingDoor(t, 2)
	src, err := New(door, Env{Replay: memCache{}})
	if err != nil {
		t.Fatal(err)
	}
	now := portlang.PeriodStart(P, 10*time.Second).Add(5 * time.Second)
	seqs, next, err := src.Current(now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range seqs {
		want, _ := portlang.Sequence(keys[s.Key], portlang.Params{Purpose: "door", Name: "ssh", Period: s.ID},
			portlang.Shape{Length: 4, Lo: 20000, Hi: 59999, Protos: []knock.Proto{knock.TCP}})
		if !slices.Equal(s.Steps, want) {
			t.Errorf("period %d key %d: %v, derived %v", s.ID, s.Key, s.Steps, want)
		}
		if from, until := portlang.PeriodStart(s.ID-1, 10*time.Second), portlang.PeriodStart(s.ID+2, 10*time.Second); !s.Starts.From.Equal(from) || !s.Starts.Until.Equal(until) {
			t.Errorf("period %d: window %v, want [%v, %v)", s.ID, s.Starts, from, until)
		}
		got = append(got, string(rune('0'+s.ID-P+2))+"/"+string(rune('0'+s.Key)))
	}
	// 1 = P-1, 2 = P, 3 = P+1; keys 0 and 1.
	if want := []string{"1/0", "1/1", "2/0", "2/1", "3/0", "3/1"}; !slices.Equal(got, want) {
		t.Errorf("offered (period-P+2/key) %v, want %v", got, want)
	}
	// P+2's window opens at the start of P+1: it is offered Lead before.
	if want := portlang.PeriodStart(P+1, 10*time.Second).Add(-Lead); !next.Equal(want) {
		t.Errorf("next change %v, want %v", next, want)
	}
}

// P is the period the replay tests knock in.
const P = 177000000

// openAt opens door's source on a replay cache in memory, and returns
// them and a time 1 s into period P.
func openAt(t *testing.T, door knock.Door) (Source, memCache, time.Time) {
	t.Helper()
	cache := memCache{}
	src, err := New(door, Env{Replay: cache})
	if err != nil {
		t.Fatal(err)
	}
	return src, cache, portlang.PeriodStart(P, 10*time.Second).Add(time.Second)
}

// A used period's sequence is refused when used again (a replay, or a
// second source in the same period); another period's still opens.
func TestRotatingReplay(t *testing.T) {
	door, _ := rotatingDoor(t, 1)
	src, cache, now := openAt(t, door)
	seqs, _, _ := src.Current(now)
	var cur Sequence
	for _, s := range seqs {
		if s.ID == P {
			cur = s
		}
	}
	a, b := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("198.51.100.9")
	if err := src.Used(cur, a, now); err != nil {
		t.Fatalf("first use refused: %v", err)
	}
	for _, who := range []netip.Addr{a, b} {
		if err := src.Used(cur, who, now.Add(time.Second)); !errors.Is(err, ErrReplayed) {
			t.Errorf("second use from %v = %v, want ErrReplayed", who, err)
		}
	}
	// The expiry outlives every knock that could complete the sequence.
	id, _ := portlang.ReplayID(portlang.Params{Purpose: "door", Name: "ssh", Period: P})
	if want := portlang.PeriodStart(P+2, 10*time.Second).Add(5 * time.Second); !cache[id].Equal(want) {
		t.Errorf("cached until %v, want %v (window end + timeout)", cache[id], want)
	}
	next := Sequence{ID: P + 1}
	if err := src.Used(next, b, now); err != nil {
		t.Errorf("the next period's sequence refused: %v", err)
	}
}

// Clients whose clocks are off are logged each time, and warned about
// once when offsetWindow openings in a row are off the same way.
func TestRotatingClockOffset(t *testing.T) {
	door, _ := rotatingDoor(t, 1)
	var lines []logLine
	log := func(level slog.Level, msg string, _ ...any) { lines = append(lines, logLine{level, msg}) }
	src, err := New(door, Env{Replay: memCache{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	at := func(q int64) time.Time { return portlang.PeriodStart(q, 10*time.Second).Add(time.Second) }
	for q := int64(P); q < P+offsetWindow+2; q++ {
		if err := src.Used(Sequence{ID: q + 1}, netip.MustParseAddr("192.0.2.7"), at(q)); err != nil {
			t.Fatal(err)
		}
	}
	var off, warn int
	for _, l := range lines {
		switch {
		case l.level == slog.LevelInfo && strings.Contains(l.msg, "clock is off"):
			off++
		case l.level == slog.LevelWarn && strings.Contains(l.msg, "off the same way"):
			warn++
		}
	}
	if off != offsetWindow+2 || warn != 1 {
		t.Errorf("%d offset lines and %d warnings, want %d and 1: %v", off, warn, offsetWindow+2, lines)
	}
}

func TestRotatingNeedsCache(t *testing.T) {
	door, _ := rotatingDoor(t, 1)
	if _, err := New(door, Env{}); err == nil {
		t.Error("a rotating door opened without a replay cache")
	}
}

// With bind_source a door offers per period a derivation, not steps: each
// source's sequence is what portlang derives for that source, the same
// derivation is offered again as long as the period is (so the matcher
// keeps its attempts), and a use is recorded per source: alice's opening
// does not spend mallory's sequence, and alice's replayed is refused.
func TestRotatingBindSource(t *testing.T) {
	door, keys := rotatingDoor(t, 1)
	door.Rotating.BindSource = true
	src, cache, now := openAt(t, door)
	seqs, _, err := src.Current(now)
	if err != nil {
		t.Fatal(err)
	}
	alice, mallory := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::66")
	var cur Sequence
	for _, s := range seqs {
		if len(s.Steps) != 0 || s.PerSource == nil {
			t.Fatalf("period %d: steps %v, PerSource %v: a bound door offers a derivation only", s.ID, s.Steps, s.PerSource)
		}
		for _, who := range []netip.Addr{alice, mallory} {
			want, _ := portlang.Sequence(keys[0], portlang.Params{Purpose: "door", Name: "ssh", Period: s.ID, Source: who},
				portlang.Shape{Length: 4, Lo: 20000, Hi: 59999, Protos: []knock.Proto{knock.TCP}})
			if got := s.PerSource.SequenceFor(who, nil); !slices.Equal(got, want) {
				t.Errorf("period %d, %v: %v, derived %v", s.ID, who, got, want)
			}
		}
		if s.ID == P {
			cur = s
		}
	}
	again, _, _ := src.Current(now.Add(time.Second))
	if i := slices.IndexFunc(again, func(s Sequence) bool { return s.ID == P }); i < 0 || again[i].PerSource != cur.PerSource {
		t.Error("period P's derivation changed between two calls: the matcher would drop the attempts under way")
	}
	if err := src.Used(cur, alice, now); err != nil {
		t.Fatalf("alice's first use refused: %v", err)
	}
	if err := src.Used(cur, mallory, now); err != nil {
		t.Errorf("mallory's own sequence refused after alice's: %v", err)
	}
	if err := src.Used(cur, alice, now.Add(time.Second)); !errors.Is(err, ErrReplayed) {
		t.Errorf("alice's sequence used twice: %v, want ErrReplayed", err)
	}
	id, _ := portlang.ReplayID(portlang.Params{Purpose: "door", Name: "ssh", Period: P, Source: alice})
	if _, ok := cache[id]; !ok {
		t.Error("the replay cache does not hold alice's bound id")
	}
}

// A message door offers the matcher nothing: its knocks are texts.
func TestMessageDoorHasNoSequence(t *testing.T) {
	door, _ := rotatingDoor(t, 1)
	door.Message = &knock.MessageDoor{MaxBytes: 10}
	src, err := New(door, Env{Replay: memCache{}})
	if err != nil {
		t.Fatal(err)
	}
	if seqs, next, err := src.Current(time.Now()); len(seqs) != 0 || !next.IsZero() || err != nil {
		t.Errorf("Current = %v, %v, %v; want nothing, ever", seqs, next, err)
	}
	if KindOf(door) != "message" {
		t.Errorf("kind %q", KindOf(door))
	}
}

// A door with users' keys offers each period's sequence under every
// user's key and names the user who opened it; each user's sequence of a
// period opens once, and one user's use does not refuse another's.
func TestRotatingUserKeys(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"bob", "alice"} {
		if err := portlang.WriteKeyFile(filepath.Join(dir, u+".key")); err != nil {
			t.Fatal(err)
		}
	}
	door := knock.Door{Name: "ssh", Timeout: 5 * time.Second, Rotating: &knock.Rotating{UserKeys: dir,
		Period: 10 * time.Second, Skew: 0, Length: 4, PortLo: 20000, PortHi: 59999, Protos: []knock.Proto{knock.TCP}}}
	src, err := New(door, Env{Replay: memCache{}, Log: func(slog.Level, string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	now := portlang.PeriodStart(P, 10*time.Second).Add(5 * time.Second)
	seqs, _, err := src.Current(now)
	if err != nil {
		t.Fatal(err)
	}
	byUser := map[string]Sequence{}
	for _, s := range seqs {
		if s.ID == P {
			byUser[src.(KeyNamer).KeyName(s)] = s
		}
	}
	alice, bob := byUser["alice"], byUser["bob"]
	if len(byUser) != 2 || slices.Equal(alice.Steps, bob.Steps) {
		t.Fatalf("period P offered %v: want alice's and bob's own sequences", byUser)
	}
	key, err := portlang.ReadKeyFile(filepath.Join(dir, "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	// The client derives with the door's name alone, as for secret_file.
	want, _ := portlang.Sequence(key, portlang.Params{Purpose: "door", Name: "ssh", Period: P}, portlang.ShapeOf(door.Rotating))
	if !slices.Equal(alice.Steps, want) {
		t.Errorf("alice's sequence %v, her key derives %v", alice.Steps, want)
	}
	a := netip.MustParseAddr("192.0.2.1")
	if err := src.Used(alice, a, now); err != nil {
		t.Fatalf("alice's use: %v", err)
	}
	if err := src.Used(bob, a, now); err != nil {
		t.Errorf("bob's use after alice's in the same period: %v", err)
	}
	if err := src.Used(alice, a, now); !errors.Is(err, ErrReplayed) {
		t.Errorf("alice's replay: %v, want ErrReplayed", err)
	}
}

// A door of the fleet's users opens for no one until the node has read
// them all (a restarting node must know every revocation first), nor
// when there are none; then for each user's own key, named.
func TestRotatingFleetUsers(t *testing.T) {
	key := portlang.GenerateKey()
	door := knock.Door{Name: "team", Timeout: 5 * time.Second, Rotating: &knock.Rotating{FleetUsers: true,
		Period: 10 * time.Second, Skew: 0, Length: 4, PortLo: 20000, PortHi: 59999, Protos: []knock.Proto{knock.TCP}}}
	now := portlang.PeriodStart(P, 10*time.Second).Add(5 * time.Second)
	if _, err := New(door, Env{Replay: memCache{}}); err == nil {
		t.Error("a door of the fleet's users opened without a fleet")
	}
	tests := []struct {
		name     string
		users    []portlang.NamedKey
		caughtUp bool
		wantErr  string
	}{
		{name: "not caught up", users: []portlang.NamedKey{{Name: "alice", Key: key}}, wantErr: "not all read yet"},
		{name: "no users", caughtUp: true, wantErr: "the fleet has no users"},
		{name: "alice", users: []portlang.NamedKey{{Name: "alice", Key: key}}, caughtUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{Replay: memCache{}, Log: func(slog.Level, string, ...any) {},
				FleetUsers: func() ([]portlang.NamedKey, bool) { return tt.users, tt.caughtUp }}
			src, err := New(door, env)
			if err != nil {
				t.Fatal(err)
			}
			seqs, _, err := src.Current(now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(seqs) != 0 {
					t.Fatalf("Current = %d sequences, %v; want none and an error containing %q", len(seqs), err, tt.wantErr)
				}
				return
			}
			if err != nil || len(seqs) != 1 {
				t.Fatalf("Current = %d sequences, %v; want alice's one", len(seqs), err)
			}
			want, _ := portlang.Sequence(key, portlang.Params{Purpose: "door", Name: "team", Period: P}, portlang.ShapeOf(door.Rotating))
			if !slices.Equal(seqs[0].Steps, want) || src.(KeyNamer).KeyName(seqs[0]) != "alice" {
				t.Errorf("sequence %v of %q, want alice's %v", seqs[0].Steps, src.(KeyNamer).KeyName(seqs[0]), want)
			}
		})
	}
}
