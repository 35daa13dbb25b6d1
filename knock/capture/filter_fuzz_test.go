package capture

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/decode/decodetest"
)

// FuzzFilterAgreement checks that the kernel filter and the user-space
// decoder agree on which frames are knocks: a knock the decoder and the
// user-space check accept must pass the BPF program (or the kernel would
// lose it), and a frame the program passes must be a knock, unless the
// decoder finds it malformed (the program checks structure only as far as
// it needs to find the ports; user space counts the rest as decode
// errors).
func FuzzFilterAgreement(f *testing.F) {
	for _, fr := range decodetest.Frames {
		port, proto := fr.Want.Port, fr.Want.Proto == knock.UDP
		f.Add(uint8(slices.Index(decode.LinkTypes, fr.Link)), fr.Data, port, uint8(knock.SYN), uint8(knock.ACK), proto, uint8(0))
		f.Add(uint8(slices.Index(decode.LinkTypes, fr.Link)), fr.Data, port, uint8(0), uint8(0), proto, uint8(1))
	}
	dec := decode.NewDecoder()
	dsts := [][]netip.Addr{
		nil,
		{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		{netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("fd77::1")},
		{netip.MustParseAddr("::1")},
	}
	f.Fuzz(func(t *testing.T, linkIndex uint8, data []byte, port uint16, set, clear uint8, udp bool, dst uint8) {
		link := decode.LinkTypes[int(linkIndex)%len(decode.LinkTypes)]
		rule := Rule{Proto: knock.TCP, Port: port, Flags: knock.FlagMatch{Set: knock.TCPFlags(set & 0x3f), Clear: knock.TCPFlags(clear&0x3f) &^ knock.TCPFlags(set)}}
		if udp {
			rule = Rule{Proto: knock.UDP, Port: port}
		}
		filter := Filter{Rules: []Rule{rule, {knock.TCP, 1000, synOnly}}, Dst: dsts[int(dst)%len(dsts)]}
		cf, err := compile(filter)
		if err != nil {
			t.Fatalf("compile() error: %v", err)
		}
		kernel := passes(t, vm(t, filter, link), data)
		var ev knock.Event
		ok, decodeErr := dec.Decode(link, data, time.Time{}, &ev)
		user := decodeErr == nil && ok && cf.match(&ev)
		switch {
		case user && !kernel:
			t.Fatalf("the BPF program rejects a knock the decoder accepts: %v/%d from %v to %v flags %#x", ev.Proto, ev.Port, ev.Src, ev.Dst, uint8(ev.Flags))
		case kernel && !user && decodeErr == nil:
			t.Fatalf("the BPF program passes a well-formed frame that is no knock (decoded: %v, %v/%d to %v flags %#x)", ok, ev.Proto, ev.Port, ev.Dst, uint8(ev.Flags))
		}
	})
}
