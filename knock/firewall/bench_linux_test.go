package firewall

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// BenchmarkAdd is the cost of one opening over netlink, against a real set
// in a namespace: an add that restarts the time of an address already
// there, the slowest case (for nft, the three-message batch).
func BenchmarkAdd(b *testing.B) {
	for _, spec := range []string{"nft:inet/filter/knocked4", "ipset:knocked"} {
		b.Run(spec, func(b *testing.B) {
			var s Set
			if spec[:3] == "nft" {
				s = openIn(b, nftNamespace(b, testRuleset), spec)
			} else {
				s = openIn(b, ipsetNamespace(b), spec)
			}
			addr := netip.MustParseAddr("192.0.2.1")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
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
