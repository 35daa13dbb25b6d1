package songs

import (
	"strings"
	"testing"

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
