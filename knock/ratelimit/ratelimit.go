package ratelimit

import (
	"hash/maphash"
	"net/netip"
	"time"
)

// buckets is the table size: a power of two, 64 Ki buckets of 16 bytes.
const buckets = 1 << 16

type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill; 0: never used
}

// A Limiter lets each source knock at most Rate times a second on
// average, in bursts of at most Burst. It is not safe for concurrent use:
// the daemon's owner alone calls it.
type Limiter struct {
	rate  float64 // tokens a second
	burst float64
	seed  maphash.Seed
	table []bucket
}

// New returns a Limiter of rate knocks a second per source, bursts of
// burst (at least 1).
func New(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), seed: maphash.MakeSeed(), table: make([]bucket, buckets)}
}

// Allow reports whether src may knock at now, and takes a token if so.
func (l *Limiter) Allow(src netip.Addr, now time.Time) bool {
	a := src.Unmap().As16()
	b := &l.table[maphash.Bytes(l.seed, a[:])&(buckets-1)]
	t := now.UnixNano()
	if b.last == 0 {
		b.tokens, b.last = l.burst, t
	} else if t > b.last {
		b.tokens = min(l.burst, b.tokens+float64(t-b.last)*l.rate/1e9)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
