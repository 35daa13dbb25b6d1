package songs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// Every embedded song parses and has sound: a song file that stops parsing
// would break --demo on every machine.
func TestEverySongParses(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no song is embedded")
	}
	for _, file := range names {
		t.Run(file, func(t *testing.T) {
			data, got, err := Read(file)
			if err != nil || got != file {
				t.Fatalf("Read(%q) = file %q, err %v; want file %q, no error", file, got, err, file)
			}
			song, err := sequence.ParseSong(file, data)
			if err != nil {
				t.Fatal(err)
			}
			if song.Duration() <= 0 || len(song.Tones) == 0 {
				t.Errorf("%s: %d tones lasting %v; want a song with sound", file, len(song.Tones), song.Duration())
			}
		})
	}
}

// The round has three voices, for knock --orchestra: each a bar behind
// the one before and an octave lower, the same tune.
func TestRoundHasThreeVoices(t *testing.T) {
	song, err := Load("three-voice-round")
	if err != nil {
		t.Fatal(err)
	}
	if len(song.Voices) != 3 {
		t.Fatalf("%d voices, want 3", len(song.Voices))
	}
	bar := time.Duration(4) * time.Minute / 150
	for i, v := range song.Voices {
		lead := time.Duration(0)
		if v[0].Freq == 0 {
			lead = v[0].Delay
		}
		if lead != time.Duration(i)*bar {
			t.Errorf("voice %d starts after %v, want %v", i+1, lead, time.Duration(i)*bar)
		}
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantFile string
		wantErr  string
	}{
		{name: "file name", in: "imperial-march.beep", wantFile: "imperial-march.beep"},
		{name: "without extension", in: "imperial-march", wantFile: "imperial-march.beep"},
		{name: "rtttl without extension", in: "fur-elise", wantFile: "fur-elise.rtttl"},
		{name: "unknown", in: "never-gonna", wantErr: `no embedded song "never-gonna"; embedded songs: fur-elise.rtttl, imperial-march.beep`},
		{name: "a path", in: "../go.mod", wantErr: `"../go.mod" is not a song name`},
		{name: "empty", in: "", wantErr: `"" is not a song name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, file, err := Read(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read(%q) error = %v; want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read(%q): %v", tt.in, err)
			}
			if file != tt.wantFile || len(data) == 0 {
				t.Errorf("Read(%q) = %d bytes of %q; want the bytes of %q", tt.in, len(data), file, tt.wantFile)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	// A file in the working directory named like an embedded song: the
	// file wins.
	own := filepath.Join(dir, "imperial-march.beep")
	if err := os.WriteFile(own, []byte("beep -f 1000 -l 50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	embedded, err := sequence.ParseSong(ImperialMarch, mustRead(t, ImperialMarch))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		in        string
		wantTones []sequence.Tone
		wantErr   string
		notExist  bool // the error wraps fs.ErrNotExist
	}{
		{name: "embedded by name", in: "imperial-march", wantTones: embedded.Tones},
		{name: "embedded by file name", in: "imperial-march.beep", wantTones: embedded.Tones},
		{name: "a file wins over the embedded song", in: own,
			wantTones: []sequence.Tone{{Freq: 1000, Length: 50 * time.Millisecond}}},
		{name: "a file of that name in the working directory wins", in: "./imperial-march.beep",
			wantTones: []sequence.Tone{{Freq: 1000, Length: 50 * time.Millisecond}}},
		{name: "neither", in: "never-gonna", notExist: true,
			wantErr: `open never-gonna: no such file or directory; nor is "never-gonna" an embedded song (fur-elise, imperial-march, `},
		{name: "a missing path is not looked up as a name", in: filepath.Join(dir, "fur-elise"), notExist: true,
			wantErr: "an embedded song"},
		{name: "a directory is a file error", in: dir, wantErr: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.in, "./") {
				t.Chdir(dir)
			}
			song, err := Load(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load(%q) error (-want +got):\n-...%s...\n+%v", tt.in, tt.wantErr, err)
				}
				if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
					t.Errorf("Load(%q): errors.Is(err, fs.ErrNotExist) = %v, want %v", tt.in, got, tt.notExist)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.in, err)
			}
			if !slices.Equal(song.Tones, tt.wantTones) {
				t.Errorf("Load(%q): %d tones, want %d; first (-want +got):\n-%+v\n+%+v",
					tt.in, len(song.Tones), len(tt.wantTones), tt.wantTones[0], song.Tones[0])
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, _, err := Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
