package beeper_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/beeper/beepertest"
	"github.com/knockbeep/knockbeep/sequence"
)

func imperialMarch(tb testing.TB) sequence.Song {
	tb.Helper()
	song, err := sequence.ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		tb.Fatalf("reading the Imperial March: %v", err)
	}
	return song
}

// wavTolerance is how far a tone decoded from our WAV may stray: its
// frequency within 0.5 % (measured over whole samples), its start and end
// within 1 ms (a boundary between two tones is found within one
// half-period).
var wavTolerance = beepertest.Tolerance{Time: ms, Pitch: 0.005}

// compareTones checks heard tones against the wanted ones (see
// wavTolerance).
func compareTones(t *testing.T, want, got []sequence.Tone) {
	t.Helper()
	if err := beepertest.CompareTones(want, got, wavTolerance); err != nil {
		t.Error(err)
	}
}

func playWAV(t *testing.T, spec string, opts beeper.Options, song beeper.Song) beeper.Result {
	t.Helper()
	s, err := beeper.Open(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := beeper.NewPlayer(s, beeper.PlayerOptions{}).Play(context.Background(), song)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestWAVRoundTrip renders songs to WAV files, decodes them, and finds
// every tone's frequency, length and delay again.
func TestWAVRoundTrip(t *testing.T) {
	march := imperialMarch(t)
	tests := []struct {
		name  string
		rate  int
		tones []sequence.Tone
	}{
		{name: "Imperial March", rate: 32000, tones: march.Tones},
		{name: "Imperial March at 44.1 kHz", rate: 44100, tones: march.Tones},
		{name: "Imperial March at 8 kHz", rate: 8000, tones: march.Tones},
		{name: "leading silence, rests and the range's ends", rate: 32000, tones: []sequence.Tone{
			{Delay: 300 * ms},
			{Freq: 30, Length: 200 * ms, Delay: 50 * ms},
			{Freq: 0, Length: 120 * ms},
			{Freq: 15000, Length: 40 * ms, Delay: 7 * ms},
			{Freq: 12345, Length: 100 * ms, Delay: 1 * ms},
			{Freq: 1000, Length: 1 * ms, Delay: 10 * ms},
			{Freq: 440, Length: 5 * time.Second, Delay: 250 * ms},
		}},
		{name: "tones without silence between them", rate: 32000, tones: []sequence.Tone{
			{Freq: 440, Length: 300 * ms},
			{Freq: 880, Length: 300 * ms},
			{Freq: 220, Length: 300 * ms},
			{Freq: 3000, Length: 100 * ms, Delay: 100 * ms},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "song.wav")
			res := playWAV(t, "wav:"+path, beeper.Options{WAVRate: tt.rate}, beeper.Song{Name: tt.name, Tones: tt.tones})
			if res.WAVPath != path {
				t.Errorf("Result.WAVPath = %q, want %q", res.WAVPath, path)
			}
			w, err := beepertest.ReadWAVFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if w.Rate != tt.rate || w.Channels != 1 {
				t.Errorf("WAV is %d channels at %d Hz, want 1 at %d", w.Channels, w.Rate, tt.rate)
			}
			var length time.Duration
			for _, tone := range tt.tones {
				length += tone.Duration()
			}
			if d := (w.Duration() - length).Abs(); d > time.Second/time.Duration(tt.rate) {
				t.Errorf("WAV lasts %v, want the song's %v", w.Duration(), length)
			}
			compareTones(t, beepertest.Heard(tt.tones), beepertest.SegmentsToTones(w.Segments()))
		})
	}
}

func TestWAVDirectoryOneFilePerSong(t *testing.T) {
	dir := t.TempDir()
	s, err := beeper.Open("wav:"+dir, beeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := beeper.NewPlayer(s, beeper.PlayerOptions{})
	tones := []sequence.Tone{{Freq: 440, Length: 100 * ms}}
	tests := []struct {
		name, want string
	}{
		{"pool-192.0.2.1", "pool-192.0.2.1.wav"},
		{"pool-192.0.2.1", "pool-192.0.2.1-2.wav"},
		{"../../etc/passwd", "_.._etc_passwd.wav"},
		{"", "song.wav"},
		{"Für Elise", "F__r_Elise.wav"},
	}
	for _, tt := range tests {
		res, err := p.Play(context.Background(), beeper.Song{Name: tt.name, Tones: tones})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, tt.want); res.WAVPath != want {
			t.Errorf("song %q went to %q, want %q", tt.name, res.WAVPath, want)
		}
		w, err := beepertest.ReadWAVFile(res.WAVPath)
		if err != nil {
			t.Fatal(err)
		}
		if w.Duration() != 100*ms {
			t.Errorf("%s lasts %v, want 100ms", res.WAVPath, w.Duration())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(tests) {
		t.Errorf("%s holds %d files, want %d", dir, len(entries), len(tests))
	}
}

func TestWAVFileIsRewrittenBySongs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "last.wav")
	s, err := beeper.Open("wav:"+path, beeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := beeper.NewPlayer(s, beeper.PlayerOptions{})
	for _, length := range []time.Duration{300 * ms, 100 * ms} {
		if _, err := p.Play(context.Background(), beeper.Song{Tones: []sequence.Tone{{Freq: 440, Length: length}}}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := beepertest.ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Duration() != 100*ms {
		t.Errorf("the file lasts %v, want the last song's 100ms", w.Duration())
	}
}

func TestWAVClampsToNyquist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "high.wav")
	playWAV(t, "wav:"+path, beeper.Options{WAVRate: 8000}, beeper.Song{Tones: []sequence.Tone{{Freq: 20000, Length: 100 * ms}}})
	w, err := beepertest.ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	compareTones(t, []sequence.Tone{{Freq: 4000, Length: 100 * ms}}, beepertest.SegmentsToTones(w.Segments()))
}

func TestOpenWAVErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec string
		rate int
		want string
	}{
		{"missing directory", "wav:" + filepath.Join(dir, "nope", "x.wav"), 0, "does not exist: create it first"},
		{"not a .wav name", "wav:" + filepath.Join(dir, "out"), 0, "neither an existing directory nor a file name ending in .wav"},
		{"an existing other file", "wav:" + notDir, 0, "neither an existing directory"},
		{"rate too low", "wav:" + dir, 4000, "sample rate 4000 Hz out of range"},
		{"rate too high", "wav:" + dir, 400000, "sample rate 400000 Hz out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := beeper.Open(tt.spec, beeper.Options{WAVRate: tt.rate})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v, %v; want an error containing %q", tt.spec, s, err, tt.want)
			}
			if s != nil {
				t.Errorf("Open returned a speaker with its error")
			}
		})
	}
}

// BenchmarkWAVImperialMarch renders the Imperial March at 32 kHz through
// the Player to a file, and reports the speed as a multiple of real time.
func BenchmarkWAVImperialMarch(b *testing.B) {
	march := imperialMarch(b)
	path := filepath.Join(b.TempDir(), "march.wav")
	s, err := beeper.Open("wav:"+path, beeper.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := beeper.NewPlayer(s, beeper.PlayerOptions{})
	song := beeper.Song{Name: "imperial", Tones: march.Tones}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := p.Play(context.Background(), song); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(march.Duration())*float64(b.N)/float64(elapsed), "x-realtime")
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	speaker, err := beeper.Open("wav:"+dir, beeper.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer speaker.Close()
	player := beeper.NewPlayer(speaker, beeper.PlayerOptions{})
	res, err := player.Play(context.Background(), beeper.Song{Name: "a4", Tones: []sequence.Tone{{Freq: 440, Length: 200 * time.Millisecond}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(res.WAVPath))
	// Output: a4.wav
}
