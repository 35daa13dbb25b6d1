package command

import (
	"testing"
	"time"
)

func TestDurationHistogram(t *testing.T) {
	var h durations
	for _, d := range []time.Duration{time.Millisecond, 7 * time.Millisecond, 2 * time.Second, 2 * time.Minute} {
		h.observe(d)
	}
	got := h.snapshot()
	if got.Count != 4 || got.Sum < 122 || got.Sum > 122.01 {
		t.Fatalf("count %d, sum %v; want 4 and 122.008", got.Count, got.Sum)
	}
	// Cumulative: ≤5ms 1, ≤10ms 2, ... ≤2.5s 3, ≤60s 3 (2 minutes is only in +Inf).
	want := map[float64]uint64{0.005: 1, 0.01: 2, 1: 2, 2.5: 3, 60: 3}
	for i, b := range DurationBuckets {
		if n, ok := want[b]; ok && got.Counts[i] != n {
			t.Errorf("bucket ≤%vs: %d, want %d", b, got.Counts[i], n)
		}
	}
}
