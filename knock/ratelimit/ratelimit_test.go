package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func TestBurstThenRate(t *testing.T) {
	l := New(10, 5) // 10 a second, bursts of 5
	src := netip.MustParseAddr("192.0.2.1")
	allowed := 0
	for range 20 { // 20 knocks in the same instant: the burst passes
		if l.Allow(src, t0) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 20 simultaneous knocks allowed, want the burst of 5", allowed)
	}
	// Then one knock every 100 ms keeps up with the rate, every 50 ms not.
	for i := 1; i <= 10; i++ {
		if !l.Allow(src, t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("knock %d at the rate refused", i)
		}
	}
	at := t0.Add(time.Second)
	refused := 0
	for i := 1; i <= 20; i++ {
		if !l.Allow(src, at.Add(time.Duration(i)*50*time.Millisecond)) {
			refused++
		}
	}
	if refused != 10 {
		t.Fatalf("%d of 20 knocks at twice the rate refused, want 10", refused)
	}
}

// TestAFloodDoesNotStarveOthers plays the attacker: one source knocking as
// fast as it can is held to the rate, and another source still knocks.
func TestAFloodDoesNotStarveOthers(t *testing.T) {
	l := New(100, 10)
	attacker, user := netip.MustParseAddr("198.51.100.66"), netip.MustParseAddr("2001:db8::1")
	passed := 0
	for i := range 100000 { // 100,000 knocks in one second
		if l.Allow(attacker, t0.Add(time.Duration(i)*10*time.Microsecond)) {
			passed++
		}
	}
	if passed > 10+100+1 {
		t.Fatalf("the flood got %d knocks through in a second, want at most the burst and the rate (110)", passed)
	}
	if !l.Allow(user, t0.Add(time.Second)) {
		t.Fatal("another source was refused during the flood")
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(100, 10)
	src := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for i := range b.N {
		l.Allow(src, t0.Add(time.Duration(i)*time.Millisecond))
	}
}
