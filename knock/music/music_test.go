package music_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/music"
	"github.com/knockbeep/knockbeep/sequence"
)

// recordingPlayer is a Player that plays nothing and records every song.
// With a gate, each Play waits for a value on it; with wavDir, each Play
// writes the song's name into wavDir/NAME.wav and returns that path, as a
// WAV speaker does; with wavFile, it rewrites that file instead.
type recordingPlayer struct {
	gate    chan struct{}
	started chan string
	wavDir  string
	wavFile string
	err     error

	mu    sync.Mutex
	songs []playedSong
}

type playedSong struct {
	name  string
	tones []sequence.Tone
}

func (p *recordingPlayer) Play(ctx context.Context, name string, tones []sequence.Tone) (string, error) {
	if p.started != nil {
		p.started <- name
	}
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	p.mu.Lock()
	p.songs = append(p.songs, playedSong{name, tones})
	p.mu.Unlock()
	wav := p.wavFile
	if p.wavDir != "" {
		wav = filepath.Join(p.wavDir, name+".wav")
	}
	if wav != "" {
		if err := os.WriteFile(wav, []byte("RIFF "+name), 0o644); err != nil {
			return "", err
		}
		return wav, p.err
	}
	return "", p.err
}

func (p *recordingPlayer) played() []playedSong {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.songs)
}

type harness struct {
	t      *testing.T
	dir    string
	opts   music.Options
	m      *music.Music
	clock  *clocktest.Fake
	logs   *logtest.Buffer
	player *recordingPlayer
	stop   func()
}

func testOptions(dir string) music.Options {
	return music.Options{
		Protocol:           sequence.DefaultProtocol(),
		StateDir:           dir,
		MaxPoolSteps:       10000,
		MaxPools:           64,
		QueueLen:           8,
		RefusalLogInterval: 10 * time.Second,
		KeepPlayed:         100,
		KeepPlayedBytes:    1 << 30,
	}
}

// newHarness makes a Music in a new state directory, with options changed
// by adjust, and runs its Run goroutine until the test ends.
func newHarness(t *testing.T, adjust func(*music.Options)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: clocktest.NewFake(time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC)), player: &recordingPlayer{}}
	h.opts = testOptions(h.dir)
	h.opts.Clock = h.clock
	h.opts.Logger, h.logs = logtest.New(t)
	h.opts.Player = h.player
	if adjust != nil {
		adjust(&h.opts)
	}
	h.dir = h.opts.StateDir
	h.start()
	t.Cleanup(func() { h.stop() })
	return h
}

// start makes the Music and runs it; stop ends Run and closes it.
func (h *harness) start() {
	h.t.Helper()
	m, err := music.New(h.opts)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	h.m = m
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("Run: %v", err)
			}
			if err := m.Close(); err != nil {
				h.t.Errorf("Close: %v", err)
			}
		})
	}
}

func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// knock sends one TCP SYN from src to port.
func (h *harness) knock(src string, port uint16) bool {
	return h.m.Handle(&knock.Event{Src: netip.MustParseAddr(src), Proto: knock.TCP, Port: port, Flags: knock.SYN})
}

func (h *harness) knocks(src string, ports ...uint16) {
	for _, p := range ports {
		h.knock(src, p)
	}
}

func (h *harness) waitPlayed(n int) []playedSong {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.player.played()) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d songs played; got %d", n, len(h.player.played()))
		}
		time.Sleep(time.Millisecond)
	}
	return h.player.played()
}

// syncRound waits for the sync timer a write armed, moves the clock past
// it, and waits until done reports the fsyncs made.
func (h *harness) syncRound(done func(music.Stats) bool) {
	h.t.Helper()
	if !h.clock.WaitPending(1, 10*time.Second) {
		h.t.Fatal("no sync timer armed after a write")
	}
	h.clock.Advance(time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !done(h.m.Stats()) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the fsyncs did not happen: %+v", h.m.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) file(rel string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, rel))
	if err != nil {
		h.t.Fatalf("reading the state directory: %v", err)
	}
	return string(b)
}

func (h *harness) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(h.dir, rel))
	return err == nil
}

func (h *harness) files(rel string) []string {
	h.t.Helper()
	entries, err := os.ReadDir(filepath.Join(h.dir, rel))
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

const header = sequence.PoolHeader + "\n"

// Ports of the default protocol.
const (
	tone    = 1000
	silence = 1001
	play    = 1002
	pitch   = 2000 // + MIDI note
)

func TestKnocksToPoolFile(t *testing.T) {
	tests := []struct {
		name   string
		proto  func(*sequence.Protocol)
		events []knock.Event
		want   string // pools/192.0.2.1.pool; "" for no file
	}{
		{
			name:   "seed rhythm",
			events: syns(tone, tone, silence, tone),
			want:   header + "tone 440 100ms\ntone 440 100ms\nsilence 100ms\ntone 440 100ms\n",
		},
		{
			name:   "pitch knocks set the tones that follow",
			events: syns(pitch+60, tone, silence, pitch+69, pitch+81, tone, tone),
			want:   header + "tone 261.6255653005986 100ms\nsilence 100ms\ntone 880 100ms\ntone 880 100ms\n",
		},
		{
			name: "configured ports, step and default pitch",
			proto: func(p *sequence.Protocol) {
				*p = sequence.Protocol{TonePort: 7, SilencePort: 8, PlayPort: 9, PitchBase: 0, Step: 250 * time.Millisecond, DefaultFreq: 523.25}
			},
			events: syns(7, 8, 1000, 7, 2060),
			want:   header + "tone 523.25 250ms\nsilence 250ms\ntone 523.25 250ms\n",
		},
		{
			// pitch<<10 | (length-1)<<5 | rest, over the base the last
			// pitch knock set (A4 here): +3 is C5.
			name:   "note knocks: a whole note and its rest in one knock, relative to the pitch",
			events: syns(pitch+69, note(3, 14, 4), note(0, 1, 0), note(sequence.NoteRestPitch, 2, 2), tone),
			want:   header + "tone 523.2511306011972 350ms\nsilence 100ms\ntone 440 25ms\nsilence 100ms\ntone 440 100ms\n",
		},
		{
			name:   "a note knock before any pitch knock counts from the default pitch",
			events: syns(note(12, 4, 0)),
			want:   header + "tone 880 100ms\n",
		},
		{
			name:   "a note above the highest MIDI note adds nothing",
			events: syns(pitch+120, note(20, 1, 1)),
			want:   "",
		},
		{
			name:   "pitch knocks alone make no pool",
			events: syns(pitch+60, pitch+62),
			want:   "",
		},
		{
			name: "udp knocks count, packets other than a bare syn do not",
			events: []knock.Event{
				{Proto: knock.UDP, Port: tone},
				{Proto: knock.TCP, Port: tone, Flags: knock.SYN | knock.ACK},
				{Proto: knock.TCP, Port: tone, Flags: knock.ACK},
				{Proto: knock.TCP, Port: tone, Flags: knock.RST},
				{Proto: knock.TCP, Port: silence, Flags: knock.SYN},
			},
			want: header + "tone 440 100ms\nsilence 100ms\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *music.Options) {
				if tt.proto != nil {
					tt.proto(&o.Protocol)
				}
			})
			for _, ev := range tt.events {
				ev.Src = netip.MustParseAddr("192.0.2.1")
				h.m.Handle(&ev)
			}
			got := ""
			if h.exists("pools/192.0.2.1.pool") {
				got = h.file("pools/192.0.2.1.pool")
			}
			if got != tt.want {
				t.Errorf("pool file (-want +got):\n-%q\n+%q", tt.want, got)
			}
		})
	}
}

// note is the port of a note knock under the default protocol.
func note(pitch, length, rest uint8) uint16 {
	return sequence.Knock{Kind: sequence.KnockNote, Note: pitch, Length: length, Rest: rest}.Port(sequence.DefaultProtocol())
}

func syns(ports ...uint16) []knock.Event {
	evs := make([]knock.Event, len(ports))
	for i, p := range ports {
		evs[i] = knock.Event{Proto: knock.TCP, Port: p, Flags: knock.SYN}
	}
	return evs
}

func TestHandleReportsMusicPorts(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		port uint16
		want bool
	}{{tone, true}, {silence, true}, {play, true}, {pitch, true}, {pitch + 127, true}, {pitch + 128, false}, {22, false}, {999, false}}
	for _, tt := range tests {
		if got := h.knock("192.0.2.1", tt.port); got != tt.want {
			t.Errorf("Handle(port %d) = %v, want %v", tt.port, got, tt.want)
		}
	}
	if !h.m.Handle(&knock.Event{Proto: knock.TCP, Port: tone, Flags: knock.SYN}) {
		t.Errorf("Handle(event without a source) = false, want true: its port is a music port")
	}
	if got := h.m.Stats(); got.Ignored != 1 || got.Knocks != 6 {
		t.Errorf("Stats() = %+v, want Knocks 6 (five music ports and one event without a source) and Ignored 1 (the event without a source)", got)
	}
}

func TestPlay(t *testing.T) {
	h := newHarness(t, nil)
	h.knocks("192.0.2.1", pitch+67, tone, tone, silence, pitch+69, tone)
	before := h.file("pools/192.0.2.1.pool")
	h.knock("192.0.2.1", play)

	songs := h.waitPlayed(1)
	wantSteps := []sequence.PoolStep{
		{Kind: sequence.StepTone, Freq: sequence.NoteFreq(67), Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: sequence.NoteFreq(67), Length: 100 * time.Millisecond},
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond},
	}
	if want := sequence.Compile(wantSteps); !slices.Equal(want, songs[0].tones) {
		t.Errorf("player got (-want +got):\n-%v\n+%v", want, songs[0].tones)
	}
	const name = "20240504T120000.000Z_192.0.2.1"
	if songs[0].name != name {
		t.Errorf("song name = %q, want %q", songs[0].name, name)
	}
	if got := h.file("played/" + name + ".pool"); got != before {
		t.Errorf("archived pool (-want +got):\n-%q\n+%q", before, got)
	}
	if h.exists("pools/192.0.2.1.pool") {
		t.Errorf("pools/192.0.2.1.pool still exists after play")
	}
	beep := h.logs.Messages(t, "music: playing", "beep")
	if want := "music: playing beep=" + sequence.FormatBeepArgs(songs[0].tones); len(beep) != 1 || beep[0] != want {
		t.Errorf("logged beep arguments: -want %q\n+got %q", want, beep)
	}

	// A new pool begins, at the default pitch; a second play in the same
	// millisecond gets its own archive.
	h.knocks("192.0.2.1", tone, play)
	songs = h.waitPlayed(2)
	if want := []sequence.Tone{{Freq: 440, Length: 100 * time.Millisecond}}; songs[1].name != name+"-2" || !slices.Equal(want, songs[1].tones) {
		t.Errorf("second song %q %v, want %q %v", songs[1].name, songs[1].tones, name+"-2", want)
	}
	if want := header + "tone 440 100ms\n"; h.file("played/"+name+"-2.pool") != want {
		t.Errorf("second archive = %q, want %q", h.file("played/"+name+"-2.pool"), want)
	}
	h.stop() // the player has returned the song; Run counts it after
	if got := h.m.Stats(); got.Plays != 2 || got.Played != 2 || got.Steps != 5 || got.Pools != 0 {
		t.Errorf("Stats() = %+v, want Plays 2, Played 2, Steps 5, Pools 0", got)
	}
}

// TestLongSongLogged: the log line of a long song shows its first tones'
// beep arguments and how many more there are, not the whole song.
func TestLongSongLogged(t *testing.T) {
	h := newHarness(t, nil)
	for range 1000 {
		h.knocks("192.0.2.1", tone, silence)
	}
	h.knock("192.0.2.1", play)
	songs := h.waitPlayed(1)
	if len(songs[0].tones) != 1000 {
		t.Fatalf("played %d tones, want 1000", len(songs[0].tones))
	}
	beep := h.logs.Messages(t, "music: playing", "beep")
	want := "music: playing beep=" + sequence.FormatBeepArgs(songs[0].tones[:128]) + " ... (872 tones more)"
	if len(beep) != 1 || beep[0] != want {
		t.Errorf("logged beep arguments: -want %q\n+got %q", want, beep)
	}
}

func TestWAVArchived(t *testing.T) {
	wavDir := t.TempDir()
	h := newHarness(t, nil)
	h.player.wavDir = wavDir
	h.knocks("2001:db8::7", tone, play)
	songs := h.waitPlayed(1)
	const name = "20240504T120000.000Z_2001-db8--7"
	deadline := time.Now().Add(10 * time.Second)
	for !h.exists("played/"+name+".wav") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got, want := h.file("played/"+name+".wav"), "RIFF "+songs[0].name; got != want {
		t.Errorf("archived WAV = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(wavDir, name+".wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the WAV was not moved from where the player wrote it: %v", err)
	}
}

// With speaker wav:DIRECTORY or wav:FILE.wav the user asked for the WAV
// there: it stays, and played/ gets a link or a copy. A file every song
// rewrites must be copied: a link would change with it.
func TestWAVKeptWhereAsked(t *testing.T) {
	const first, second = "20240504T120000.000Z_192.0.2.1", "20240504T120001.000Z_192.0.2.2"
	tests := []struct {
		name      string
		wavFiles  music.WAVFiles
		oneFile   bool // the player rewrites one file; else one file per song in a directory
		wantLinks bool
	}{
		{name: "directory", wavFiles: music.LinkWAV, wantLinks: true},
		{name: "one file", wavFiles: music.CopyWAV, oneFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *music.Options) { o.WAVFiles = tt.wavFiles })
			out := t.TempDir()
			if tt.oneFile {
				h.player.wavFile = filepath.Join(out, "out.wav")
			} else {
				h.player.wavDir = out
			}
			h.playSongs("192.0.2.1", "192.0.2.2")
			h.stop() // Run has archived the last WAV
			for _, name := range []string{first, second} {
				if got, want := h.file("played/"+name+".wav"), "RIFF "+name; got != want {
					t.Errorf("played/%s.wav = %q, want %q", name, got, want)
				}
			}
			// Where the speaker wrote them, they stay.
			where := map[string]string{filepath.Join(out, first+".wav"): first, filepath.Join(out, second+".wav"): second}
			if tt.oneFile {
				where = map[string]string{filepath.Join(out, "out.wav"): second}
			}
			for path, name := range where {
				b, err := os.ReadFile(path)
				if err != nil || string(b) != "RIFF "+name {
					t.Errorf("%s = %q, %v; want %q left where the speaker wrote it", path, b, err, "RIFF "+name)
				}
				archived, _ := os.Stat(filepath.Join(h.dir, "played", name+".wav"))
				written, _ := os.Stat(path)
				if linked := os.SameFile(archived, written); linked != tt.wantLinks {
					t.Errorf("played/%s.wav is a link to %s: %v, want %v", name, path, linked, tt.wantLinks)
				}
			}
		})
	}
}

func TestPlayerError(t *testing.T) {
	h := newHarness(t, nil)
	h.player.err = errors.New("speaker unplugged")
	h.knocks("192.0.2.1", tone, play)
	h.waitPlayed(1)
	h.stop()
	if got := h.m.Stats(); got.PlayErrors != 1 || got.Played != 0 {
		t.Errorf("Stats() = %+v, want PlayErrors 1", got)
	}
	if got := h.files("played"); len(got) != 1 {
		t.Errorf("played/ = %q, want the archive kept", got)
	}
	if got := h.logs.Messages(t, "music: playing failed", "err"); len(got) != 1 {
		t.Errorf("log = %q, want one \"playing failed\"", got)
	}
}

func TestPerSourcePools(t *testing.T) {
	h := newHarness(t, nil)
	h.knock("192.0.2.1", tone)
	h.knock("2001:db8::1", silence)
	h.knock("192.0.2.1", pitch+69+12)
	h.knock("2001:db8::1", tone)
	h.knock("192.0.2.1", tone)
	h.knock("fe80::1%eth0", tone) // the zone is not part of the source
	h.knock("2001:db8::1", play)

	songs := h.waitPlayed(1)
	if want := sequence.Compile([]sequence.PoolStep{{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond}}); !slices.Equal(want, songs[0].tones) {
		t.Errorf("2001:db8::1 played (-want +got):\n-%v\n+%v", want, songs[0].tones)
	}
	if want := header + "tone 440 100ms\ntone 880 100ms\n"; h.file("pools/192.0.2.1.pool") != want {
		t.Errorf("192.0.2.1's pool = %q, want %q", h.file("pools/192.0.2.1.pool"), want)
	}
	if want := []string{"192.0.2.1.pool", "fe80--1.pool"}; !slices.Equal(want, h.files("pools")) {
		t.Errorf("pools/ = %q, want %q", h.files("pools"), want)
	}
}

func TestSharedPool(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.Shared = true })
	h.knock("192.0.2.1", tone)
	h.knock("192.0.2.2", pitch+81) // the pitch is shared too
	h.knock("192.0.2.1", tone)
	h.knock("2001:db8::2", silence)
	if want := header + "tone 440 100ms\ntone 880 100ms\nsilence 100ms\n"; h.file("music.pool") != want {
		t.Errorf("music.pool = %q, want %q", h.file("music.pool"), want)
	}
	if got := h.files("pools"); len(got) != 0 {
		t.Errorf("pools/ = %q, want nothing in shared mode", got)
	}
	h.knock("192.0.2.2", play)
	songs := h.waitPlayed(1)
	if want := "20240504T120000.000Z_192.0.2.2"; songs[0].name != want {
		t.Errorf("song name = %q, want %q (who knocked play)", songs[0].name, want)
	}
	if len(songs[0].tones) != 2 {
		t.Errorf("played %v, want two tones", songs[0].tones)
	}
	h.knock("192.0.2.1", tone)
	if want := header + "tone 440 100ms\n"; h.file("music.pool") != want {
		t.Errorf("music.pool after play = %q, want %q", h.file("music.pool"), want)
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		adjust func(*music.Options)
		knocks []struct {
			src  string
			port uint16
		}
		wantRefused music.Refusals
		wantPools   map[string]string // pools/ file name → content
	}{
		{
			name:        "allowed networks",
			adjust:      func(o *music.Options) { o.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} },
			knocks:      ks("192.0.2.1", tone, "198.51.100.1", tone, "::ffff:192.0.2.5", tone, "2001:db8::1", silence),
			wantRefused: music.Refusals{NotAllowed: 2},
			wantPools: map[string]string{
				"192.0.2.1.pool":        header + "tone 440 100ms\n",
				"--ffff-192.0.2.5.pool": header + "tone 440 100ms\n",
			},
		},
		{
			name:        "max pools, freed by a play",
			adjust:      func(o *music.Options) { o.MaxPools = 2 },
			knocks:      ks("192.0.2.1", tone, "192.0.2.2", pitch+60, "192.0.2.3", tone, "192.0.2.1", play, "192.0.2.3", tone),
			wantRefused: music.Refusals{TooManyPools: 1},
			wantPools: map[string]string{
				"192.0.2.3.pool": header + "tone 440 100ms\n",
			},
		},
		{
			name:        "max steps",
			adjust:      func(o *music.Options) { o.MaxPoolSteps = 2 },
			knocks:      ks("192.0.2.1", tone, "192.0.2.1", silence, "192.0.2.1", tone, "192.0.2.2", tone),
			wantRefused: music.Refusals{PoolFull: 1},
			wantPools: map[string]string{
				"192.0.2.1.pool": header + "tone 440 100ms\nsilence 100ms\n",
				"192.0.2.2.pool": header + "tone 440 100ms\n",
			},
		},
		{
			name:        "max steps: a note and its rest land whole or not at all",
			adjust:      func(o *music.Options) { o.MaxPoolSteps = 2 },
			knocks:      ks("192.0.2.1", tone, "192.0.2.1", int(note(0, 4, 4)), "192.0.2.1", int(note(0, 4, 0))),
			wantRefused: music.Refusals{PoolFull: 1},
			wantPools: map[string]string{
				"192.0.2.1.pool": header + "tone 440 100ms\ntone 440 100ms\n",
			},
		},
		{
			name:        "play on an empty pool",
			knocks:      ks("192.0.2.1", play, "192.0.2.2", pitch+60, "192.0.2.2", play),
			wantRefused: music.Refusals{EmptyPlay: 2},
			wantPools:   map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.adjust)
			for _, k := range tt.knocks {
				h.knock(k.src, k.port)
			}
			if got := h.m.Stats().Refused; got != tt.wantRefused {
				t.Errorf("Stats().Refused:\n-want %+v\n+got  %+v", tt.wantRefused, got)
			}
			got := map[string]string{}
			for _, name := range h.files("pools") {
				got[name] = h.file("pools/" + name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantPools) {
				t.Errorf("pools/ (-want +got):\n-%q\n+%q", tt.wantPools, got)
			}
			refusedLogs := len(h.logs.Messages(t, "music: knock refused"))
			if want := int(tt.wantRefused.NotAllowed + tt.wantRefused.TooManyPools + tt.wantRefused.PoolFull + tt.wantRefused.EmptyPlay); refusedLogs != want {
				t.Errorf("%d refusals logged, want %d (one per reason and source)", refusedLogs, want)
			}
		})
	}
}

func ks(pairs ...any) []struct {
	src  string
	port uint16
} {
	var out []struct {
		src  string
		port uint16
	}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, struct {
			src  string
			port uint16
		}{pairs[i].(string), uint16(pairs[i+1].(int))})
	}
	return out
}

func TestRefusalLogRateLimited(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.MaxPoolSteps = 1 })
	h.knock("192.0.2.1", tone)
	for range 5 {
		h.knock("192.0.2.1", tone) // pool full
	}
	h.knock("192.0.2.2", play)    // another reason and source: its own line
	h.knock("192.0.2.1", silence) // still within 10 s: counted only
	h.clock.Advance(10 * time.Second)
	h.knock("192.0.2.1", tone)

	got := h.logs.Messages(t, "music: knock refused", "src", "suppressed")
	want := []string{
		"music: knock refused: pool full ([music] max_steps): play it to start a new one src=192.0.2.1 suppressed=0",
		"music: knock refused: play knock on an empty pool: nothing to play src=192.0.2.2 suppressed=0",
		"music: knock refused: pool full ([music] max_steps): play it to start a new one src=192.0.2.1 suppressed=5",
	}
	if !slices.Equal(want, got) {
		t.Errorf("refusal log (-want +got):\n-%q\n+%q", want, got)
	}
	if got := h.m.Stats().Refused.PoolFull; got != 7 {
		t.Errorf("Stats().Refused.PoolFull = %d, want 7", got)
	}
}

// TestRefusalLogFlood: refusals from 20,000 random sources in one
// interval write 10 lines per reason, then one line counting the rest,
// once the interval is over: at the next Tick, or before the next line.
func TestRefusalLogFlood(t *testing.T) {
	tests := []struct {
		name string
		then func(h *harness)
	}{
		{"summary at the next tick", func(h *harness) { h.m.Tick(h.clock.Now()) }},
		{"summary before the next line", func(h *harness) { h.knock("192.0.2.1", tone) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *music.Options) { o.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
			for i := range 20000 {
				h.knock(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}).String(), tone)
			}
			h.knock("10.0.0.1", play) // another reason: its own 10 lines
			h.m.Tick(h.clock.Now().Add(9 * time.Second))
			if got := h.logs.Messages(t, "music: knock"); len(got) != 11 {
				t.Fatalf("%d refusal lines during the interval, want 11 (10 for the flood, 1 for the play): %q", len(got), got)
			}
			h.clock.Advance(10 * time.Second)
			tt.then(h)
			got := h.logs.Messages(t, "music: knocks refused and not logged", "unlogged")
			want := []string{"music: knocks refused and not logged: source not in the allowed networks ([music] allow) unlogged=19990"}
			if !slices.Equal(want, got) {
				t.Errorf("summary (-want +got):\n-%q\n+%q", want, got)
			}
			if got := h.m.Stats().Refused.NotAllowed; got < 20000 {
				t.Errorf("Stats().Refused.NotAllowed = %d, want every refusal counted: 20000 or more", got)
			}
		})
	}
}

func TestQueueOverflow(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.QueueLen = 1 })
	h.player.gate = make(chan struct{})
	h.player.started = make(chan string, 10)

	h.knocks("192.0.2.1", tone, play)
	<-h.player.started                // 192.0.2.1 plays
	h.knocks("192.0.2.2", tone, play) // waits
	h.knocks("192.0.2.3", tone, play) // refused: the queue holds one
	if got := h.m.Stats(); got.Refused.QueueFull != 1 || got.Queued != 1 {
		t.Errorf("Stats() = %+v, want Refused.QueueFull 1, Queued 1", got)
	}
	if want := header + "tone 440 100ms\n"; h.file("pools/192.0.2.3.pool") != want {
		t.Errorf("a refused play lost its pool: %q", h.file("pools/192.0.2.3.pool"))
	}
	h.player.gate <- struct{}{}
	<-h.player.started // 192.0.2.2 plays
	h.knock("192.0.2.3", play)
	h.player.gate <- struct{}{}
	<-h.player.started
	h.player.gate <- struct{}{}
	var names []string
	for _, s := range h.waitPlayed(3) {
		names = append(names, strings.SplitN(s.name, "_", 2)[1])
	}
	if want := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}; !slices.Equal(want, names) {
		t.Errorf("played -want %q +got %q", want, names)
	}
}

// TestQueueZero: with no room to wait, a play is accepted only when
// nothing plays.
func TestQueueZero(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.QueueLen = 0 })
	h.player.gate = make(chan struct{})
	h.player.started = make(chan string, 10)
	h.knocks("192.0.2.1", tone, play)
	<-h.player.started
	h.knocks("192.0.2.2", tone, play)
	if got := h.m.Stats().Refused.QueueFull; got != 1 {
		t.Errorf("Stats().Refused.QueueFull = %d, want 1", got)
	}
	h.player.gate <- struct{}{}
	h.waitPlayed(1)
	deadline := time.Now().Add(10 * time.Second)
	for h.knock("192.0.2.2", play); h.m.Stats().Plays != 2; h.knock("192.0.2.2", play) {
		if time.Now().After(deadline) { // Run marks itself idle just after the player returns
			t.Fatal("a play after the song ended was never accepted")
		}
		time.Sleep(time.Millisecond)
	}
	<-h.player.started
	h.player.gate <- struct{}{}
	h.waitPlayed(2)
}

func TestRestartReload(t *testing.T) {
	h := newHarness(t, nil)
	h.knocks("192.0.2.1", pitch+60, tone, silence)
	h.knocks("2001:db8::1", tone)
	h.restart()
	if got := h.m.Stats().Pools; got != 2 {
		t.Errorf("Stats().Pools after restart = %d, want 2", got)
	}
	h.knocks("192.0.2.1", tone, play) // the pitch was not kept: 440 Hz
	songs := h.waitPlayed(1)
	want := sequence.Compile([]sequence.PoolStep{
		{Kind: sequence.StepTone, Freq: sequence.NoteFreq(60), Length: 100 * time.Millisecond},
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: 440, Length: 100 * time.Millisecond},
	})
	if !slices.Equal(want, songs[0].tones) {
		t.Errorf("played after restart (-want +got):\n-%v\n+%v", want, songs[0].tones)
	}
}

func TestReloadTornAndUnreadablePools(t *testing.T) {
	dir := t.TempDir()
	pools := filepath.Join(dir, "pools")
	if err := os.MkdirAll(pools, 0o750); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(pools, name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("192.0.2.1.pool", header+"tone 440 100ms\ntone 44") // crashed mid-write
	write("192.0.2.2.pool", header+"tone loud 100ms\n")       // not a pool we wrote
	write("notes.pool", header)                               // not a source address

	h := newHarness(t, func(o *music.Options) { o.StateDir = dir })
	h.knocks("192.0.2.1", silence)
	if want := header + "tone 440 100ms\nsilence 100ms\n"; h.file("pools/192.0.2.1.pool") != want {
		t.Errorf("torn pool after a step = %q, want %q", h.file("pools/192.0.2.1.pool"), want)
	}
	h.knocks("192.0.2.2", tone)
	if want := header + "tone 440 100ms\n"; h.file("pools/192.0.2.2.pool") != want {
		t.Errorf("unreadable pool's source = %q, want a new pool %q", h.file("pools/192.0.2.2.pool"), want)
	}
	if want := header + "tone loud 100ms\n"; h.file("pools/192.0.2.2.pool.unreadable") != want {
		t.Errorf("unreadable pool moved aside = %q, want %q", h.file("pools/192.0.2.2.pool.unreadable"), want)
	}
	logs := h.logs.Messages(t, "music: pool")
	wantPrefixes := []string{"music: pool: pool line 3: ignoring an incomplete last line", "music: pool loaded", "music: pool unreadable, moved aside"}
	for _, p := range wantPrefixes {
		if !slices.ContainsFunc(logs, func(s string) bool { return strings.HasPrefix(s, p) }) {
			t.Errorf("no log line starting %q in %q", p, logs)
		}
	}
	if got := h.logs.Messages(t, "music: ignoring a pool whose name", "path"); len(got) != 1 {
		t.Errorf("log %q, want one line about notes.pool", got)
	}
}

// A second after the first write the pools written to are fsynced; with
// nothing written no timer is armed, so an idle daemon never wakes.
func TestPeriodicSync(t *testing.T) {
	h := newHarness(t, nil)
	h.knocks("192.0.2.1", tone, tone)
	h.knocks("192.0.2.2", tone)
	h.syncRound(func(s music.Stats) bool { return s.Syncs == 2 })
	h.clock.Advance(time.Hour)
	// A timer armed again after the fsyncs (the old way: once a second
	// for ever) is pending by now. The wait cannot make a correct Music
	// fail; it only gives a wrong one the time to show itself.
	time.Sleep(10 * time.Millisecond)
	if n := h.clock.Pending(); n != 0 {
		t.Errorf("%d timers armed with nothing written, want none", n)
	}
	h.knocks("192.0.2.1", tone)
	h.syncRound(func(s music.Stats) bool { return s.Syncs == 3 })
}

// Handle creates a new source's pool without an fsync; the next periodic
// sync fsyncs the new files and then, once, their directory. Until then a
// crash of the daemon alone loses nothing: the file is on disk, written.
func TestNewPoolSyncedPeriodically(t *testing.T) {
	h := newHarness(t, nil)
	h.knocks("192.0.2.1", tone)
	h.knocks("192.0.2.2", silence)
	if want := header + "tone 440 100ms\n"; h.file("pools/192.0.2.1.pool") != want {
		t.Errorf("new pool right after Handle (-want +got):\n-%q\n+%q", want, h.file("pools/192.0.2.1.pool"))
	}
	type syncs struct{ files, dirs uint64 }
	stats := func() syncs { s := h.m.Stats(); return syncs{s.Syncs, s.DirSyncs} }
	steps := []struct {
		name  string
		knock string // a source knocking a tone before the second passes; "" for none
		want  syncs
	}{
		{name: "before the second passes", want: syncs{0, 0}},
		{name: "after a second: both files, then their directory", want: syncs{2, 1}},
		{name: "a step to a pool that is not new", knock: "192.0.2.1", want: syncs{3, 1}},
		{name: "a new pool", knock: "192.0.2.3", want: syncs{4, 2}},
	}
	for i, st := range steps {
		if st.knock != "" {
			h.knocks(st.knock, tone)
		}
		if i > 0 {
			h.syncRound(func(s music.Stats) bool { return s.Syncs == st.want.files && s.DirSyncs == st.want.dirs })
		}
		if got := stats(); got != st.want {
			t.Errorf("%s: fsyncs (-want +got):\n-%+v\n+%+v", st.name, st.want, got)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		adjust func(*music.Options)
		want   string
	}{
		{"no state dir", func(o *music.Options) { o.StateDir = "" }, "no state directory"},
		{"max steps", func(o *music.Options) { o.MaxPoolSteps = 0 }, "max steps 0"},
		{"max pools", func(o *music.Options) { o.MaxPools = 0 }, "max pools 0"},
		{"queue", func(o *music.Options) { o.QueueLen = -1 }, "queue length -1"},
		{"log interval", func(o *music.Options) { o.RefusalLogInterval = 0 }, "refusal log interval"},
		{"keep played", func(o *music.Options) { o.KeepPlayed = -1 }, "keep played -1"},
		{"keep played bytes", func(o *music.Options) { o.KeepPlayedBytes = -1 }, "keep played bytes -1"},
		{"pool idle timeout", func(o *music.Options) { o.PoolIdleTimeout = -time.Second }, "pool idle timeout -1s"},
		{"no player", func(o *music.Options) { o.Player = nil }, "no player"},
		{"protocol", func(o *music.Options) { o.Protocol.PlayPort = o.Protocol.TonePort }, "each knock needs its own port"},
		{"state dir is a file", func(o *music.Options) {
			f := filepath.Join(o.StateDir, "file")
			os.WriteFile(f, nil, 0o600)
			o.StateDir = f
		}, "creating the state directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t.TempDir())
			opts.Player = &recordingPlayer{}
			tt.adjust(&opts)
			m, err := music.New(opts)
			if err == nil {
				m.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "music: ") {
				t.Errorf("New error = %q, want \"music: ...%s...\"", err, tt.want)
			}
		})
	}
}

// TestManyKnocksInOrder: 10,000 knocks from several sources, interleaved,
// land in each source's pool complete and in order.
func TestManyKnocksInOrder(t *testing.T) {
	h := newHarness(t, nil)
	sources := []string{"192.0.2.1", "192.0.2.2", "198.51.100.9", "2001:db8::1", "2001:db8::2", "10.1.2.3", "::ffff:10.0.0.1", "fd00::42"}
	want := map[string][]sequence.PoolStep{}
	freq := map[string]float64{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		src := sources[rng.IntN(len(sources))]
		if _, ok := freq[src]; !ok {
			freq[src] = 440
		}
		switch r := rng.IntN(10); {
		case r < 6:
			h.knock(src, tone)
			want[src] = append(want[src], sequence.PoolStep{Kind: sequence.StepTone, Freq: freq[src], Length: 100 * time.Millisecond})
		case r < 8:
			h.knock(src, silence)
			want[src] = append(want[src], sequence.PoolStep{Kind: sequence.StepSilence, Length: 100 * time.Millisecond})
		default:
			note := i % 128
			h.knock(src, pitch+uint16(note))
			freq[src] = sequence.NoteFreq(note)
		}
	}
	h.stop()
	var total int
	for _, src := range sources {
		name := strings.ReplaceAll(netip.MustParseAddr(src).String(), ":", "-") + ".pool"
		steps, warnings, err := sequence.LoadPool(strings.NewReader(h.file("pools/"+name)), sequence.PoolOptions{MaxPoolSteps: 10000})
		if err != nil || len(warnings) > 0 {
			t.Fatalf("%s: %v %q", name, err, warnings)
		}
		if !slices.Equal(want[src], steps) {
			t.Errorf("%s: %d steps, want %d in knock order", name, len(steps), len(want[src]))
		}
		total += len(steps)
	}
	if got := h.m.Stats().Steps; got != uint64(total) {
		t.Errorf("Stats().Steps = %d, want %d", got, total)
	}
}

// BenchmarkHandleNewSource measures the first knock of a new source: the
// one that creates its pool file. Handle runs on the daemon's packet path,
// so this is how long a knock waits behind a new knocker.
func BenchmarkHandleNewSource(b *testing.B) {
	opts := testOptions(b.TempDir())
	opts.Player = &recordingPlayer{}
	opts.MaxPools = b.N + 1
	m, err := music.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ev := knock.Event{Proto: knock.TCP, Port: tone, Flags: knock.SYN}
	b.ResetTimer()
	for i := range b.N {
		ev.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		m.Handle(&ev)
	}
	b.StopTimer()
	if got := m.Stats().Pools; got != b.N {
		b.Fatalf("Stats().Pools = %d, want %d", got, b.N)
	}
}

// BenchmarkHandle measures one tone knock: classification, the source's
// lookup and the pool file append (a real write(2)).
func BenchmarkHandle(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("sources=%d", n), func(b *testing.B) {
			opts := testOptions(b.TempDir())
			opts.Player = &recordingPlayer{}
			opts.MaxPoolSteps = b.N + 1
			opts.MaxPools = n
			m, err := music.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			events := make([]knock.Event, n)
			for i := range events {
				events[i] = knock.Event{Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Proto: knock.TCP, Port: tone, Flags: knock.SYN}
				m.Handle(&events[i]) // create the pools outside the timing
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m.Handle(&events[i%n])
			}
			b.StopTimer()
			if got := m.Stats().Steps; got != uint64(b.N+n) {
				b.Fatalf("Stats().Steps = %d, want %d", got, b.N+n)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "knocks/s")
		})
	}
}

// TestPlayAt: an orchestra's play waits for its start instant on the
// Music's clock, logs that instant and the one the player was handed the
// song, and plays the pool as a play knock would; what a play knock
// refuses, PlayAt refuses too.
func TestPlayAt(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} })
	h.knocks("192.0.2.1", pitch+67, tone, silence, tone)
	if !h.m.HasPool(netip.MustParseAddr("192.0.2.1")) || h.m.HasPool(netip.MustParseAddr("192.0.2.2")) {
		t.Fatalf("HasPool: want a pool for 192.0.2.1 only")
	}
	now := h.clock.Now()
	start := now.Add(500 * time.Millisecond)
	if !h.m.PlayAt(now, netip.MustParseAddr("192.0.2.1"), start) {
		t.Fatal("PlayAt of a pool with steps: not queued")
	}
	songs := h.waitPlayed(1)
	want := sequence.Compile([]sequence.PoolStep{
		{Kind: sequence.StepTone, Freq: sequence.NoteFreq(67), Length: 100 * time.Millisecond},
		{Kind: sequence.StepSilence, Length: 100 * time.Millisecond},
		{Kind: sequence.StepTone, Freq: sequence.NoteFreq(67), Length: 100 * time.Millisecond},
	})
	if !slices.Equal(want, songs[0].tones) {
		t.Errorf("player got (-want +got):\n-%v\n+%v", want, songs[0].tones)
	}
	ns := func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
	started := h.logs.Messages(t, "music: started", "scheduled_unix_ns", "started_unix_ns", "late")
	wantLine := fmt.Sprintf("music: started scheduled_unix_ns=%s started_unix_ns=%s late=0", ns(start), ns(start))
	if len(started) != 1 || started[0] != wantLine {
		t.Errorf("start logged: %q, want %q", started, wantLine)
	}
	queued := h.logs.Messages(t, "music: song queued", "start_unix_ns")
	if want := "music: song queued start_unix_ns=" + ns(start); len(queued) != 1 || queued[0] != want {
		t.Errorf("queue logged: %q, want %q", queued, want)
	}

	// The pool has gone with the play; a source with none, or one the
	// allow list does not take, plays nothing.
	for _, src := range []string{"192.0.2.1", "198.51.100.1"} {
		if h.m.PlayAt(h.clock.Now(), netip.MustParseAddr(src), h.clock.Now().Add(time.Second)) {
			t.Errorf("PlayAt for %s, which has no pool: queued", src)
		}
	}
	h.stop()
	if got := h.m.Stats(); got.Played != 1 || got.Refused.EmptyPlay != 1 || got.Refused.NotAllowed != 1 {
		t.Errorf("Stats() = %+v, want Played 1, EmptyPlay 1, NotAllowed 1", got)
	}
}

// HandleSong puts a song that came whole (under the music doors' secret)
// into its source's pool as its knocks one by one would, and plays it; a
// source refused a pool is refused once for the whole song.
func TestHandleSong(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.MaxPools = 1 })
	song := []sequence.Knock{
		{Kind: sequence.KnockPitch, Note: 67}, {Kind: sequence.KnockTone}, {Kind: sequence.KnockTone},
		{Kind: sequence.KnockSilence}, {Kind: sequence.KnockPitch, Note: 69}, {Kind: sequence.KnockTone},
	}
	h.m.HandleSong(netip.MustParseAddr("192.0.2.1"), song)
	h.waitPlayed(1)
	h.knocks("192.0.2.1", pitch+67, tone, tone, silence, pitch+69, tone, play) // the same song, knocked
	songs := h.waitPlayed(2)
	if !slices.Equal(songs[0].tones, songs[1].tones) || len(songs[0].tones) == 0 {
		t.Errorf("the song that came whole played %v, the same knocked %v", songs[0].tones, songs[1].tones)
	}
	if got := h.m.Plays(); got != 2 {
		t.Errorf("Plays() = %d, want 2", got)
	}

	h.knock("192.0.2.2", tone) // the one pool allowed
	h.m.HandleSong(netip.MustParseAddr("192.0.2.3"), song)
	if got := h.m.Stats().Refused; got != (music.Refusals{TooManyPools: 1}) {
		t.Errorf("a song from a source refused a pool: Refused %+v, want one TooManyPools", got)
	}
	if got := h.m.Plays(); got != 2 {
		t.Errorf("Plays() = %d after a refused song, want still 2", got)
	}
}
