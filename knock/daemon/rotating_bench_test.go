package daemon

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/match"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/replaycache"
	"github.com/knockbeep/knockbeep/knock/source"
)

// benchDoorSet builds the matcher's doors for one door at now: a static
// door of four knocks, or a rotating door with the defaults (30 s period,
// skew 1, four knocks in 20000-32767).
func benchDoorSet(b *testing.B, kind string, now time.Time) (*config.Config, *doorSet) {
	b.Helper()
	dir := b.TempDir()
	door := knock.Door{Name: "ssh", Timeout: config.DefaultTimeout, Flags: knock.FlagMatch{Set: knock.SYN}}
	if kind != "static" {
		key := filepath.Join(dir, "k")
		if err := portlang.WriteKeyFile(key); err != nil {
			b.Fatal(err)
		}
		r := config.DefaultRotating()
		r.SecretFiles = []string{key}
		r.BindSource = kind == "bound"
		door.Rotating = &r
	} else {
		door.Sequence = []knock.Step{{Proto: knock.TCP, Port: 21000}, {Proto: knock.TCP, Port: 32000}, {Proto: knock.TCP, Port: 43000}, {Proto: knock.TCP, Port: 54000}}
	}
	cfg := config.Default()
	cfg.Music.Enabled = false
	cfg.Doors = []knock.Door{door}
	cache, _, err := replaycache.Open(filepath.Join(dir, "replay.cache"), replaycache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cache.Close() })
	set, err := newDoorSet(cfg, source.Env{Replay: cache}, now)
	if err != nil {
		b.Fatal(err)
	}
	return cfg, set
}

// BenchmarkDoorMatch reports the matcher's cost per packet for a static
// door, for a rotating one (which the matcher sees as one door per
// accepted period, each with its start window) and for a rotating one
// with bind_source (whose sequence the matcher derives, HMAC-SHA256, for
// the knocker of every packet in its range): 1024 sources each knock the
// first three steps of their current sequence, so every packet is a step
// of an attempt, the costly case.
func BenchmarkDoorMatch(b *testing.B) {
	now := time.Unix(1770000015, 0)
	for _, kind := range []string{"static", "rotating", "bound"} {
		b.Run(kind, func(b *testing.B) {
			_, set := benchDoorSet(b, kind, now)
			cur := set.doors[0]
			for i, o := range set.origin {
				if o.seq.ID == portlang.PeriodAt(now, 30*time.Second) {
					cur = set.doors[i]
				}
			}
			m := match.New(set.doors, match.Options{})
			var evs []knock.Event
			for step := range 3 {
				for s := range 1024 {
					src := netip.AddrFrom4([4]byte{10, 1, byte(s >> 8), byte(s)})
					seq := cur.Sequence
					if cur.PerSource != nil {
						seq = cur.PerSource.SequenceFor(src, nil)
					}
					evs = append(evs, knock.Event{Time: now, Src: src,
						Dst: netip.MustParseAddr("192.0.2.1"), Proto: seq[step].Proto, Port: seq[step].Port, Flags: knock.SYN})
				}
			}
			var out []match.Match
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				out = m.Handle(&evs[i%len(evs)], out[:0])
			}
			b.ReportMetric(float64(len(set.doors)), "matcher-doors")
		})
	}
}

// BenchmarkBoundFlood reports the matcher's cost per packet of a flood
// into a bound door's range from sources that each knock once: the worst
// case of bind_source, one derivation per accepted period for every
// packet (see docs/security.md).
func BenchmarkBoundFlood(b *testing.B) {
	now := time.Unix(1770000015, 0)
	_, set := benchDoorSet(b, "bound", now)
	m := match.New(set.doors, match.Options{})
	evs := make([]knock.Event, 1<<16)
	for i := range evs {
		evs[i] = knock.Event{Time: now, Src: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			Dst: netip.MustParseAddr("192.0.2.1"), Proto: knock.TCP, Port: uint16(20000 + i%12768), Flags: knock.SYN}
	}
	var out []match.Match
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out = m.Handle(&evs[i%len(evs)], out[:0])
	}
}

// BenchmarkRotatingSwap reports the cost of one period boundary of a
// rotating door in the daemon, taken under the owner lock: asking the
// source for its sequences and reloading the matcher (which carries
// attempts over). The kernel filter is not rebuilt at a boundary: it
// passes the door's whole range (see filterParts); /filter is the cost of
// building that filter's program once, at start and on reload
// (capture.SetFilter compiles the same; the kernel's attach, a
// setsockopt, needs root and is not included).
func BenchmarkRotatingSwap(b *testing.B) {
	start := time.Unix(1770000000, 0)
	cfg, set := benchDoorSet(b, "rotating", start)
	m := match.New(set.doors, match.Options{})
	local := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	b.Run("boundary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			now := start.Add(time.Duration(i+1) * 30 * time.Second) // a new period each time
			old := set.doors
			set.expand(cfg.Doors, now, func(slog.Level, string, ...any) {})
			if !set.install(m, old) {
				b.Fatal("the boundary changed nothing")
			}
		}
	})
	b.Run("filter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := capture.CompileFilter(FilterFor(cfg, set.doors, local, false), decode.LinkRaw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
