package knock

import (
	"net/netip"
	"testing"
)

func TestIsKnock(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		name string
		ev   Event
		want bool
	}{
		{"a SYN", Event{Src: src, Proto: TCP, Flags: SYN}, true},
		{"a SYN with PSH", Event{Src: src, Proto: TCP, Flags: SYN | PSH}, true},
		{"a SYN-ACK (a reply)", Event{Src: src, Proto: TCP, Flags: SYN | ACK}, false},
		{"an ACK", Event{Src: src, Proto: TCP, Flags: ACK}, false},
		{"a RST", Event{Src: src, Proto: TCP, Flags: RST}, false},
		{"a UDP datagram", Event{Src: src, Proto: UDP}, true},
		{"no source address", Event{Proto: UDP}, false},
		{"another protocol", Event{Src: src, Proto: 1}, false},
	} {
		if got := tc.ev.IsKnock(); got != tc.want {
			t.Errorf("%s: IsKnock() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
