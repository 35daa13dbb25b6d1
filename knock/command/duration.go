package command

import (
	"sync/atomic"
	"time"
)

// DurationBuckets are the upper bounds, in seconds, of the command
// duration histogram: a firewall command takes milliseconds, a fork
// about 5 ms, and a command_timeout stops most at a minute.
var DurationBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// A Histogram counts command durations by bucket: Counts[i] is how many
// took at most DurationBuckets[i] (cumulative, as Prometheus wants it).
type Histogram struct {
	Count  uint64
	Sum    float64 // seconds
	Counts []uint64
}

// durations is the runner's histogram, updated without a lock.
type durations struct {
	buckets [len(DurationBuckets) + 1]atomic.Uint64 // one per bound, then +Inf
	count   atomic.Uint64
	sumNS   atomic.Int64
}

func (h *durations) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(DurationBuckets) && s > DurationBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sumNS.Add(int64(d))
}

func (h *durations) snapshot() Histogram {
	out := Histogram{Count: h.count.Load(), Sum: float64(h.sumNS.Load()) / 1e9, Counts: make([]uint64, len(DurationBuckets))}
	var running uint64
	for i := range DurationBuckets {
		running += h.buckets[i].Load()
		out.Counts[i] = running
	}
	return out
}
