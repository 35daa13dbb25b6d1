package music_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/music"
	"github.com/knockbeep/knockbeep/sequence"
)

// Reload (SIGHUP) puts new ports, limits and allowed networks in force at
// the next knock, and keeps what was knocked in: pools, pitches set, the
// song playing and the song queued.
func TestReloadInPlace(t *testing.T) {
	h := newHarness(t, nil)
	h.player.gate = make(chan struct{})
	h.player.started = make(chan string, 10)
	const a, b, c, d, outsider = "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "198.51.100.1"
	h.knocks(a, pitch+72, tone) // C5, then a tone
	h.knocks(outsider, tone)
	h.knocks(b, tone, play)
	<-h.player.started // b's song plays
	h.knocks(c, silence, tone, play)

	opts := h.opts
	opts.Protocol = sequence.Protocol{TonePort: 3000, SilencePort: 3001, PlayPort: 3002, PitchBase: 4000,
		Step: 50 * time.Millisecond, DefaultFreq: 500}
	opts.MaxPoolSteps = 3
	opts.QueueLen = 1
	opts.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if err := h.m.Reload(opts); err != nil {
		t.Fatalf("Reload: %v", err)
	}

	if h.knock(a, tone) {
		t.Errorf("Handle(old tone port %d) = true after the reload moved the tone port", tone)
	}
	h.knocks(a, 3000, 3000) // a's third step fills it (MaxPoolSteps 3)...
	h.knocks(a, 3001)       // ...so this one is refused
	h.knocks(d, 3000)       // a new source, never pitched: the new default
	h.knocks(outsider, 3001)
	h.knocks(a, 3002) // refused: c's song waits, and the queue holds one now

	st := h.m.Stats()
	wantRefused := music.Refusals{PoolFull: 1, NotAllowed: 1, QueueFull: 1}
	if st.Refused != wantRefused || st.Queued != 1 || st.Pools != 3 {
		t.Errorf("Stats() after the reload: Refused %+v, Queued %d, Pools %d; want Refused %+v, Queued 1, Pools 3 (a, d and the outsider's, kept)",
			st.Refused, st.Queued, st.Pools, wantRefused)
	}
	pools := map[string]string{
		"192.0.2.1.pool":    header + "tone 523.2511306011972 100ms\ntone 523.2511306011972 50ms\ntone 523.2511306011972 50ms\n",
		"192.0.2.4.pool":    header + "tone 500 50ms\n",
		"198.51.100.1.pool": header + "tone 440 100ms\n",
	}
	for name, want := range pools {
		if got := h.file("pools/" + name); got != want {
			t.Errorf("pools/%s (-want +got):\n-%q\n+%q", name, want, got)
		}
	}

	// The songs knocked in before the reload play, b's and then c's.
	h.player.gate <- struct{}{}
	<-h.player.started
	h.player.gate <- struct{}{}
	songs := h.waitPlayed(2)
	var who []string
	for _, s := range songs {
		who = append(who, strings.SplitN(s.name, "_", 2)[1])
	}
	if want := []string{b, c}; !slices.Equal(want, who) {
		t.Errorf("played (-want +got):\n-%q\n+%q", want, who)
	}
	wantC := sequence.Compile([]sequence.PoolStep{
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond},
	})
	if !slices.Equal(wantC, songs[1].tones) {
		t.Errorf("c's song (-want +got):\n-%v\n+%v", wantC, songs[1].tones)
	}
}

// A reload that raises MaxPoolSteps lets a full pool take more steps, and one
// that lowers it stops a pool at the new limit; the pool keeps every step.
func TestReloadMaxPoolSteps(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.MaxPoolSteps = 2 })
	const src = "192.0.2.1"
	h.knocks(src, tone, tone, tone)
	reload := func(maxPoolSteps int) {
		t.Helper()
		opts := h.opts
		opts.MaxPoolSteps = maxPoolSteps
		if err := h.m.Reload(opts); err != nil {
			t.Fatalf("Reload(MaxPoolSteps %d): %v", maxPoolSteps, err)
		}
	}
	reload(4)
	h.knocks(src, silence, silence, silence)
	reload(3)
	h.knocks(src, tone)
	if got := h.m.Stats().Refused.PoolFull; got != 3 {
		t.Errorf("Stats().Refused.PoolFull = %d, want 3 (one at 2 steps, one at 4, one over 3)", got)
	}
	want := header + "tone 440 100ms\ntone 440 100ms\nsilence 100ms\nsilence 100ms\n"
	if got := h.file("pools/192.0.2.1.pool"); got != want {
		t.Errorf("pool (-want +got):\n-%q\n+%q", want, got)
	}
	// The periodic sync closes the pool's old file handle; the pool plays
	// whole.
	h.syncRound(func(s music.Stats) bool { return s.Syncs > 0 })
	h.knock(src, play)
	songs := h.waitPlayed(1)
	wantTones := sequence.Compile([]sequence.PoolStep{
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond},
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
	})
	if !slices.Equal(wantTones, songs[0].tones) {
		t.Errorf("song (-want +got):\n-%v\n+%v", wantTones, songs[0].tones)
	}
	if got := h.logs.Messages(t, "music: closing"); len(got) != 0 {
		t.Errorf("log: %q, want no trouble closing the old handle", got)
	}
}

// A reload that Music cannot apply in place is an error, and changes
// nothing.
func TestReloadErrors(t *testing.T) {
	tests := []struct {
		name   string
		adjust func(*music.Options)
		want   string
	}{
		{"state dir", func(o *music.Options) { o.StateDir += "/other" }, "cannot change in place"},
		{"shared", func(o *music.Options) { o.Shared = true }, "cannot change in place"},
		{"max steps", func(o *music.Options) { o.MaxPoolSteps = 0 }, "max steps 0"},
		{"max pools", func(o *music.Options) { o.MaxPools = -1 }, "max pools -1"},
		{"queue", func(o *music.Options) { o.QueueLen = -1 }, "queue length -1"},
		{"log interval", func(o *music.Options) { o.RefusalLogInterval = 0 }, "refusal log interval"},
		{"protocol", func(o *music.Options) { o.Protocol.TonePort = 3000; o.Protocol.PlayPort = 3000 }, "each knock needs its own port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			opts := h.opts
			tt.adjust(&opts)
			err := h.m.Reload(opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Reload error (-want +got):\n-...%s...\n+%v", tt.want, err)
			}
			h.knocks("192.0.2.1", tone)
			if want := header + "tone 440 100ms\n"; h.file("pools/192.0.2.1.pool") != want {
				t.Errorf("after a failed reload the old protocol should hold; pool (-want +got):\n-%q\n+%q", want, h.file("pools/192.0.2.1.pool"))
			}
		})
	}
}
