package firewall

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// BenchmarkAdd is the cost of one opening over netlink, against a real set
// in a namespace: "refresh" restarts the time of an address already there
// (for nft the slowest case: an add refused, then the three-message
// batch), "new" adds an address the set does not hold (for nft one
// message), as for a knocker at the door.
func BenchmarkAdd(b *testing.B) {
	for _, tc := range []struct{ spec, name string }{
		{"nft:inet/filter/knocked4", "new"},
		{"nft:inet/filter/knocked4", "refresh"},
		{"ipset:knocked", "refresh"},
	} {
		b.Run(tc.spec+"/"+tc.name, func(b *testing.B) {
			var s Set
			if tc.spec[:3] == "nft" {
				s = openIn(b, nftNamespace(b, testRuleset), tc.spec)
			} else {
				s = openIn(b, ipsetNamespace(b), tc.spec)
			}
			addr := netip.MustParseAddr("192.0.2.1")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				if tc.name == "new" {
					var a [4]byte
					binary.BigEndian.PutUint32(a[:], 10<<24+uint32(i))
					addr = netip.AddrFrom4(a)
				}
				start := time.Now()
				if _, err := s.Add(addr, time.Hour); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			// The tail is the kernel's transaction as much as ours: it
			// bounds how fast any opening through this set can be.
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
