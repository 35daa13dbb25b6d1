package music_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/music"
)

// Spoofed pitch knocks from MaxPools sources used to hold every place
// until a restart: a pitch makes a source with no pool, which no play can
// free. Tick forgets sources idle for PoolIdleTimeout, pools and all, so
// a real knocker gets in again.
func TestIdleSourcesForgotten(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.MaxPools, o.PoolIdleTimeout = 3, 10*time.Minute })
	h.knock("198.51.100.1", pitch+60) // spoofed: a pitch, no pool
	h.knock("198.51.100.2", tone)     // spoofed: a pool of one step
	h.clock.Advance(5 * time.Minute)
	h.knocks("192.0.2.1", tone, tone) // a real knocker, composing
	if h.knock("192.0.2.2", tone); h.m.Stats().Refused.TooManyPools != 1 {
		t.Fatalf("Stats().Refused.TooManyPools = %d with every place taken, want 1", h.m.Stats().Refused.TooManyPools)
	}

	h.clock.Advance(5*time.Minute - time.Nanosecond)
	h.m.Tick(h.clock.Now())
	if got := h.m.Stats(); got.Pools != 3 || got.Forgotten != 0 {
		t.Fatalf("just before the idle timeout: Pools %d, Forgotten %d; want 3 and 0", got.Pools, got.Forgotten)
	}
	h.clock.Advance(time.Nanosecond)
	h.m.Tick(h.clock.Now())
	st := h.m.Stats()
	if st.Pools != 1 || st.Forgotten != 2 || st.Discarded != 1 {
		t.Errorf("after the idle timeout: Pools %d, Forgotten %d, Discarded %d; want 1 (the real knocker's), 2, 1", st.Pools, st.Forgotten, st.Discarded)
	}
	if got, want := h.files("pools"), []string{"192.0.2.1.pool"}; !slices.Equal(want, got) {
		t.Errorf("pools/ (-want +got):\n-%q\n+%q", want, got)
	}
	logs := h.logs.Messages(t, "music: forgot sources idle", "sources", "pools", "steps")
	if want := []string{"music: forgot sources idle for [music] pool_idle_timeout; their pools were deleted unplayed sources=2 pools=1 steps=1"}; !slices.Equal(want, logs) {
		t.Errorf("log (-want +got):\n-%q\n+%q", want, logs)
	}

	// The freed places take new sources; the forgotten pitch is gone.
	h.knocks("192.0.2.2", tone)
	h.knocks("198.51.100.1", tone, play)
	songs := h.waitPlayed(1)
	if want := 440.0; songs[0].tones[0].Freq != want {
		t.Errorf("a forgotten source's next tone is at %v Hz, want the default %v", songs[0].tones[0].Freq, want)
	}
	// The real knocker kept composing: each step renews its time.
	h.clock.Advance(9 * time.Minute)
	h.knocks("192.0.2.1", silence)
	h.clock.Advance(9 * time.Minute)
	h.m.Tick(h.clock.Now())
	if want := header + "tone 440 100ms\ntone 440 100ms\nsilence 100ms\n"; h.file("pools/192.0.2.1.pool") != want {
		t.Errorf("the active source's pool = %q, want %q", h.file("pools/192.0.2.1.pool"), want)
	}
}

// Pools loaded at start are as old as their files: spoofed pools do not
// come back after a restart to hold their places again.
func TestIdlePoolsLoadedAtStart(t *testing.T) {
	dir := t.TempDir()
	pools := filepath.Join(dir, "pools")
	if err := os.MkdirAll(pools, 0o750); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC)
	for name, age := range map[string]time.Duration{"198.51.100.1.pool": time.Hour, "192.0.2.1.pool": time.Minute} {
		path := filepath.Join(pools, name)
		if err := os.WriteFile(path, []byte(header+"tone 440 100ms\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, start.Add(-age), start.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, func(o *music.Options) { o.StateDir, o.PoolIdleTimeout = dir, 10*time.Minute })
	if got := h.m.Stats().Pools; got != 2 {
		t.Fatalf("Stats().Pools = %d after loading, want 2", got)
	}
	h.m.Tick(h.clock.Now())
	if got, want := h.files("pools"), []string{"192.0.2.1.pool"}; !slices.Equal(want, got) {
		t.Errorf("pools/ after the first Tick (-want +got):\n-%q\n+%q", want, got)
	}
}

// 0 never forgets, and shared mode's one pool is never forgotten.
func TestIdleNeverForgotten(t *testing.T) {
	tests := []struct {
		name   string
		adjust func(*music.Options)
		pool   string
	}{
		{"timeout 0", func(o *music.Options) { o.PoolIdleTimeout = 0 }, "pools/192.0.2.1.pool"},
		{"shared pool", func(o *music.Options) { o.Shared, o.PoolIdleTimeout = true, time.Minute }, "music.pool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.adjust)
			h.knocks("192.0.2.1", tone)
			h.clock.Advance(24 * time.Hour)
			h.m.Tick(h.clock.Now())
			if got := h.m.Stats(); got.Pools != 1 || got.Forgotten != 0 || !h.exists(tt.pool) {
				t.Errorf("a day later: Pools %d, Forgotten %d, %s there %v; want 1, 0, true", got.Pools, got.Forgotten, tt.pool, h.exists(tt.pool))
			}
		})
	}
}
