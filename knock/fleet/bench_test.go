package fleet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkOpeningLatency measures, in a three-node embedded cluster on
// loopback, the time from PublishOpening at A to the opening coming out
// of Openings at C, one opening at a time. It reports p50 and p99.
func BenchmarkOpeningLatency(b *testing.B) {
	c := startCluster(b, 3)
	a, cc := c.nodes[0], c.nodes[2]
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := a.PublishOpening(ctx, fmt.Sprint("door", i), knocker, until); err != nil {
			b.Fatal(err)
		}
		// B receives it too; drain it so its channel never fills.
		<-c.nodes[1].Openings()
		if o := recv(b, cc); o.Door != fmt.Sprint("door", i) {
			b.Fatalf("got %q", o.Door)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
