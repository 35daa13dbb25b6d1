package daemon

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// composeSong composes an embedded song with the default protocol.
func composeSong(t testing.TB, name string, opts sequence.ComposeOptions) sequence.Plan {
	t.Helper()
	data, file, err := songs.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	song, err := sequence.ParseSong(file, data)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// Two sources compose two songs at the same time, their knocks interleaved
// packet by packet, while a third knocks a command door: each pool gets
// exactly its own song, each WAV plays it, and the door's command runs
// once with the knocker's address.
func TestReplayMusicAndCommandDoors(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "wav"), 0o755)
	out := filepath.Join(dir, "door.out")
	cfg, _ := testConfig(t, dir, `
speaker = "wav:{{DIR}}/wav"
state_dir = "{{DIR}}/state"

[music]
[[door]]
name = "touch"
sequence = ["7000", "8000:udp", "9000"]
tcpflags = "syn,!ack"
start_command = ["/bin/sh", "-c", "echo %IP% %PORT% %PROTO% %DOOR% >> `+out+`"]
`)
	imperial := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{})
	// Für Elise's opening alternates E5 and D#5 with no rest between: its
	// WAV cannot be cut into notes (their half-periods differ by less
	// than two samples), so only its pool is compared.
	elise := composeSong(t, "fur-elise", sequence.ComposeOptions{})
	const alice, bob, carol = "192.0.2.10", "2001:db8::20", "198.51.100.7"

	door := []packet{
		syn(5*time.Millisecond, carol, hostAddr4, 7000),
		// An ACK to the door's port is not a knock (tcpflags): ignored,
		// it neither advances nor resets the attempt.
		tcp(6*time.Millisecond, carol, hostAddr4, 9000, knock.ACK),
		udp(7*time.Millisecond, carol, hostAddr4, 8000),
		syn(9*time.Millisecond, carol, hostAddr4, 9000),
	}
	file := pcapFile(t, interleave(
		planPackets(imperial, 0, alice, hostAddr4),
		planPackets(elise, 0, bob, hostAddr6),
		door,
	)...)
	logger, _ := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, file)

	played := playedSongs(t, filepath.Join(dir, "state"))
	if len(played) != 2 {
		t.Fatalf("%d songs archived under played/, want 2", len(played))
	}
	for _, tt := range []struct {
		name     string
		plan     sequence.Plan
		src      string
		checkWAV bool
	}{{"imperial march", imperial, alice, true}, {"für elise", elise, bob, false}} {
		t.Run(tt.name, func(t *testing.T) {
			var song *playedSong
			for i := range played {
				if strings.Contains(filepath.Base(played[i].pool), strings.ReplaceAll(tt.src, ":", "-")) {
					song = &played[i]
				}
			}
			if song == nil {
				t.Fatalf("no archived pool from %s among %v", tt.src, played)
			}
			want := tt.plan.Expected()
			if diff := diffTones(want, sequence.Compile(song.steps)); diff != "" {
				t.Errorf("pool %s: %s", filepath.Base(song.pool), diff)
			}
			if song.wav == "" {
				t.Fatalf("no WAV beside %s", song.pool)
			}
			if tt.checkWAV {
				checkWAV(t, song.wav, want)
			}
		})
	}
	if got, want := readAll(t, out), carol+" 9000 tcp touch\n"; got != want {
		t.Errorf("the door's command wrote %q, want %q", got, want)
	}
	s := d.Stats()
	if s.Commands.Succeeded != 1 || s.Match.Opened != 1 {
		t.Errorf("doors opened %d, commands succeeded %d; want 1 and 1", s.Match.Opened, s.Commands.Succeeded)
	}
}

// The original monotone protocol: the Imperial March knocked without pitch
// is the reference's 253 steps, 171 tones and 82 silences.
func TestReplayNoPitchImperialMarch(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.Speaker = "wav:" + t.TempDir() // renders at once; a real speaker would play for 25 s
	plan := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{NoPitch: true})
	logger, _ := testLogger(t)
	replay(t, cfg, Options{Logger: logger}, pcapFile(t, planPackets(plan, 0, "192.0.2.10", hostAddr4)...))

	played := playedSongs(t, dir)
	if len(played) != 1 {
		t.Fatalf("%d songs played, want 1", len(played))
	}
	var tones, silences int
	for _, s := range played[0].steps {
		switch s.Kind {
		case sequence.StepTone:
			tones++
			if s.Freq != 440 {
				t.Fatalf("a tone step at %v Hz; without pitch knocks every tone is 440 Hz", s.Freq)
			}
		case sequence.StepSilence:
			silences++
		}
	}
	if tones+silences != 253 || tones != 171 || silences != 82 {
		t.Errorf("pool: %d steps (%d tone, %d silence), want 253 (171 tone, 82 silence)", tones+silences, tones, silences)
	}
}

// speaker = "wav:PATH" puts the WAV files where PATH says and leaves them
// there: a directory gets one file per song, a .wav file holds the last
// song. played/ gets each song's WAV beside its pool all the same.
func TestReplayWAVSpeakerKeepsFiles(t *testing.T) {
	tests := []struct {
		name string
		spec string // relative to the test's directory
	}{
		{name: "directory", spec: "out"},
		{name: "file", spec: "out/song.wav"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.StateDir = filepath.Join(dir, "state")
			cfg.Speaker = "wav:" + filepath.Join(dir, tt.spec)
			const a, b = "192.0.2.10", "192.0.2.20"
			logger, _ := testLogger(t)
			replay(t, cfg, Options{Logger: logger}, pcapFile(t,
				syn(0, a, hostAddr4, 1000), syn(1, a, hostAddr4, 1002), // one tone
				syn(2, b, hostAddr4, 1000), syn(3, b, hostAddr4, 1001), syn(4, b, hostAddr4, 1000), syn(5, b, hostAddr4, 1002)))

			played := playedSongs(t, cfg.StateDir)
			if len(played) != 2 || played[0].wav == "" || played[1].wav == "" {
				t.Fatalf("played/ holds %+v, want two songs, each with its WAV", played)
			}
			wantTones := [][]sequence.Tone{
				{{Freq: 440, Length: 100 * time.Millisecond}},
				{{Freq: 440, Length: 100 * time.Millisecond, Delay: 100 * time.Millisecond}, {Freq: 440, Length: 100 * time.Millisecond}},
			}
			for i, s := range played {
				checkWAV(t, s.wav, wantTones[i])
			}
			written, err := filepath.Glob(filepath.Join(dir, "out", "*.wav"))
			if err != nil {
				t.Fatal(err)
			}
			switch tt.name {
			case "directory":
				if len(written) != 2 {
					t.Fatalf("the directory holds %q, want the two songs' WAV files", written)
				}
				for _, w := range written {
					if !strings.Contains(filepath.Base(w), "192.0.2.") {
						t.Errorf("%s does not name its song", w)
					}
				}
			case "file":
				if want := []string{filepath.Join(dir, tt.spec)}; !slices.Equal(want, written) {
					t.Fatalf("out/ holds %q, want %q", written, want)
				}
				checkWAV(t, written[0], wantTones[1]) // the last song
			}
		})
	}
}

// With -4 a replayed IPv6 knock is ignored and an IPv4 one is not (live,
// the kernel filter drops IPv6 knocks; a capture file has no such filter).
func TestReplayOnlyIPv4(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "door.out")
	cfg, _ := testConfig(t, dir, `
state_dir = "{{DIR}}/state"

[music]
enabled = false

[[door]]
name = "bell"
sequence = ["7000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> `+out+`"]
`)
	file := pcapFile(t,
		syn(5*time.Millisecond, "2001:db8::20", hostAddr6, 7000),
		syn(6*time.Millisecond, "192.0.2.10", hostAddr4, 7000),
	)
	logger, _ := testLogger(t)
	replay(t, cfg, Options{Logger: logger, OnlyIPv4: true}, file)
	if got, want := readAll(t, out), "192.0.2.10\n"; got != want {
		t.Errorf("the door's command wrote %q, want %q (the IPv6 knock ignored)", got, want)
	}
}

// The config's settings reach the parts that use them: max_attempts the
// matcher, the music keys (keep_played_mib in bytes) music.Options.
func TestConfigReachesTheParts(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
state_dir = "{{DIR}}/state"
speaker = "none"
max_attempts = 100

[music]
max_steps = 77
max_pools = 5
queue = 3
refusal_log_interval = "1h"
keep_played = 7
keep_played_mib = 2
pool_idle_timeout = "3m"
`)
	got := musicOptions(cfg)
	if got.MaxPoolSteps != 77 || got.MaxPools != 5 || got.QueueLen != 3 || got.RefusalLogInterval != time.Hour ||
		got.KeepPlayed != 7 || got.KeepPlayedBytes != 2<<20 || got.PoolIdleTimeout != 3*time.Minute {
		t.Errorf("music options %+v, want max_steps 77, max_pools 5, queue 3, 1h, keep 7 songs and 2 MiB, idle 3m", got)
	}
	logger, _ := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, syn(time.Millisecond, "192.0.2.1", hostAddr4, 1000)))
	if c := d.Stats().Match.Capacity; c != 100 {
		t.Errorf("matcher capacity %d, want max_attempts 100", c)
	}
}

// TestRateLimitHoldsAFloodingSource plays the attacker: one source floods
// a door's first port 1000 times in a second, with rate_limit 20 (burst
// 5); its knocks beyond the limit are dropped and counted, and a user's
// knock on the same door, amid the flood, still opens it.
func TestRateLimitHoldsAFloodingSource(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "door.out")
	cfg, _ := testConfig(t, dir, `
state_dir = "{{DIR}}/state"
rate_limit = 20
rate_burst = 5

[[door]]
name = "ssh"
sequence = ["7000", "8000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> `+out+`"]
`)
	var pkts []packet
	for i := range 1000 {
		pkts = append(pkts, syn(time.Duration(i)*time.Millisecond, "198.51.100.66", hostAddr4, 7000))
	}
	pkts = append(pkts, syn(500*time.Millisecond, "192.0.2.10", hostAddr4, 7000), syn(501*time.Millisecond, "192.0.2.10", hostAddr4, 8000))
	slices.SortStableFunc(pkts, func(a, b packet) int { return cmp.Compare(a.at, b.at) })
	logger, _ := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, pkts...))
	s := d.Stats()
	if s.Capture.Packets != 1002 {
		t.Errorf("the capture counters say %d packets, want the file's 1002", s.Capture.Packets)
	}
	// 5 in the burst, then 20 a second for the second the flood lasts.
	if s.RateLimited < 1000-5-21 || s.RateLimited > 1000-5-19 {
		t.Errorf("%d knocks rate-limited, want about %d", s.RateLimited, 1000-5-20)
	}
	if got := readAll(t, out); got != "192.0.2.10\n" {
		t.Errorf("the door's command wrote %q, want the user's opening", got)
	}
}
