package match

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// benchDoors is a realistic config: two command doors and the music ports.
func benchDoors() []knock.Door {
	return []knock.Door{
		door("ssh", 7000, 8000, 9000),
		door("web", 7100, 8100, 9100),
		door("tone", 1000),
		door("silence", 1001),
		door("play", 1002),
	}
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 11)) }

// steadyKnocks returns the valid ssh knocks of n sources, interleaved.
func steadyKnocks(n int) []knock.Event {
	var evs []knock.Event
	for _, port := range []uint16{7000, 8000, 9000} {
		for s := range n {
			evs = append(evs, knock.Event{
				Src: netip.AddrFrom4([4]byte{203, 0, 113, byte(s + 1)}), Dst: local,
				Proto: knock.TCP, Port: port, Flags: knock.SYN,
			})
		}
	}
	return evs
}

// BenchmarkHandle reports ns and allocations per event.
func BenchmarkHandle(b *testing.B) {
	b.Run("valid knocks from 4 sources", func(b *testing.B) {
		benchmarkEvents(b, steadyKnocks(4), DefaultMaxAttempts)
	})
	b.Run("random-source flood at the cap", func(b *testing.B) {
		// 1 Mi distinct-ish sources through a table of 65,536: after the
		// warm-up every event evicts one record.
		flood := floodEvents(newRand(), 1<<20, t0, 7000)
		m := New(benchDoors(), Options{IsLocal: isLocal})
		for i := range DefaultMaxAttempts {
			m.Handle(&flood[i], nil)
		}
		evictedBefore := m.Stats().Evicted
		b.ReportAllocs()
		b.ResetTimer()
		var out []Match
		for i := 0; b.Loop(); i++ {
			ev := &flood[(DefaultMaxAttempts+i)%len(flood)]
			out = m.Handle(ev, out[:0])
		}
		b.StopTimer()
		s := m.Stats()
		b.ReportMetric(float64(s.Evicted-evictedBefore)/float64(b.N), "evictions/op")
		b.ReportMetric(float64(s.Tracked), "tracked")
	})
	b.Run("port of no door", func(b *testing.B) {
		benchmarkEvents(b, []knock.Event{{Src: local, Dst: local, Proto: knock.TCP, Port: 22, Flags: knock.SYN}}, DefaultMaxAttempts)
	})
}

func benchmarkEvents(b *testing.B, evs []knock.Event, maxAttempts int) {
	m := New(benchDoors(), Options{MaxAttempts: maxAttempts, IsLocal: isLocal})
	out := make([]Match, 0, 8)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev := evs[i%len(evs)]
		ev.Time = t0.Add(time.Duration(i) * time.Microsecond)
		out = m.Handle(&ev, out[:0])
	}
	b.ReportMetric(float64(m.Stats().Opened)/float64(b.N), "opened/op")
}

// BenchmarkExpire reports the cost of one Expire sweep over a full table.
func BenchmarkExpire(b *testing.B) {
	flood := floodEvents(newRand(), DefaultMaxAttempts, t0, 7000)
	m := New(benchDoors(), Options{IsLocal: isLocal})
	for i := range flood {
		m.Handle(&flood[i], nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Expire(t0) // nothing due: a full walk that keeps every record
	}
	b.ReportMetric(float64(m.Stats().Tracked), "records")
}
