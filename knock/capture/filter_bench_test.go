package capture

import (
	"net/netip"
	"testing"

	"github.com/knockbeep/knockbeep/knock"
)

// BenchmarkEventFilter is the user-space check of every event a live capture
// reads, on the default daemon's filter (musicDoors: the music ports, to
// four host addresses), for the events of a flood: the SYN of a knock,
// which passes, and events the kernel filter would mostly have dropped
// already. The last case has 64 destinations, a host with many addresses
// or doors with many targets.
func BenchmarkEventFilter(b *testing.B) {
	m, err := NewEventFilter(musicDoors)
	if err != nil {
		b.Fatal(err)
	}
	many := Filter{Rules: musicDoors.Rules}
	for i := range 64 {
		many.Dst = append(many.Dst, netip.AddrFrom4([4]byte{10, 78, 0, byte(i)}))
	}
	manyM, err := NewEventFilter(many)
	if err != nil {
		b.Fatal(err)
	}
	events := []struct {
		name string
		ev   knock.Event
		want bool
	}{
		{"tcp4 knock", knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.1"), Proto: knock.TCP, Port: 1000, Flags: knock.SYN}, true},
		{"tcp6 pitch knock", knock.Event{Src: netip.MustParseAddr("fd77::2"), Dst: netip.MustParseAddr("fd77::1"), Proto: knock.TCP, Port: 2069, Flags: knock.SYN}, true},
		{"udp4 knock", knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("127.0.0.1"), Proto: knock.UDP, Port: 1001}, true},
		{"tcp4 ack", knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.1"), Proto: knock.TCP, Port: 1000, Flags: knock.SYN | knock.ACK}, false},
		{"tcp4 other port", knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.1"), Proto: knock.TCP, Port: 22, Flags: knock.SYN}, false},
		{"tcp4 other host", knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.9"), Proto: knock.TCP, Port: 1000, Flags: knock.SYN}, false},
	}
	for _, e := range events {
		b.Run(e.name, func(b *testing.B) { benchmarkEventFilter(b, m, &e.ev, e.want) })
	}
	last := knock.Event{Src: netip.MustParseAddr("10.77.0.2"), Dst: many.Dst[63], Proto: knock.TCP, Port: 1000, Flags: knock.SYN}
	b.Run("tcp4 knock to the last of 64 destinations", func(b *testing.B) { benchmarkEventFilter(b, manyM, &last, true) })
}

func benchmarkEventFilter(b *testing.B, m *EventFilter, ev *knock.Event, want bool) {
	if got := m.Passes(ev); got != want {
		b.Fatalf("Match() = %v, want %v", got, want)
	}
	for b.Loop() {
		m.Passes(ev)
	}
}
