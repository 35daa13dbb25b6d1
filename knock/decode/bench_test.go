package decode_test

import (
	"testing"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/decode/decodetest"
)

// BenchmarkDecode decodes one knock of each link type (and the IPv6
// extension-header walk); allocs/op must stay 0.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{
		"lo: IPv4 TCP SYN (Ethernet, zero addresses)",
		"veth: IPv6 TCP SYN",
		"VLAN: 802.1Q-tagged IPv4 TCP SYN",
		"any (SLL): IPv4 TCP SYN received on veth",
		"any (SLL2): IPv6 TCP SYN received on veth",
		"null (FreeBSD lo0): IPv4 TCP SYN",
		"raw: IPv4 TCP SYN",
		"raw: IPv6 UDP",
		"IPv6 hop-by-hop, destination options, first fragment, TCP SYN",
	} {
		f := frame(b, name, keep)
		var link decode.LinkType
		for _, fr := range decodetest.Frames {
			if fr.Name == name {
				link = fr.Link
			}
		}
		b.Run(name, func(b *testing.B) {
			d := decode.NewDecoder()
			var ev knock.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				if ok, err := d.Decode(link, f, captured, &ev); !ok || err != nil {
					b.Fatalf("Decode() = %v, %v", ok, err)
				}
			}
		})
	}
}
