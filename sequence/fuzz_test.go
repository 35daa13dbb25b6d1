package sequence

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSongSeeds seeds f with the shipped songs of one extension and extra.
func addSongSeeds(f *testing.F, ext string, extra ...string) {
	files, _ := filepath.Glob(filepath.Join("..", "songs", "*"+ext))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, s := range extra {
		f.Add(s)
	}
}

// checkParsed asserts what every song parser promises: a *SyntaxError that
// points inside the text, or tones within bounds that beep's arguments
// carry faithfully.
func checkParsed(t *testing.T, format Format, text string, tones []Tone, err error, minFreq, maxFreq float64) {
	t.Helper()
	if err != nil {
		var syntax *SyntaxError
		if !errors.As(err, &syntax) {
			t.Fatalf("error %v is not a *SyntaxError", err)
		}
		if syntax.Format != format || syntax.Line < 1 || syntax.Line > strings.Count(text, "\n")+1 || syntax.Column < 1 || syntax.Problem == "" {
			t.Fatalf("error %v points outside the text", err)
		}
		return
	}
	if len(tones) > MaxSongTones {
		t.Fatalf("%d tones, more than the limit", len(tones))
	}
	for i, tone := range tones {
		silent := tone.Freq == 0 && tone.Length == 0
		if !silent && (tone.Freq < minFreq || tone.Freq > maxFreq) || tone.Length < 0 || tone.Delay < 0 {
			t.Fatalf("tone %d out of bounds: %+v", i, tone)
		}
	}
	if len(tones) > 200 {
		return
	}
	args := FormatBeepArgs(tones)
	if args == "" {
		if len(timeline(tones)) > 0 {
			t.Fatalf("FormatBeepArgs dropped %v", tones)
		}
		return
	}
	cmd, err := ParseBeepArgs(strings.Fields(args))
	if err != nil {
		t.Fatalf("beep would refuse FormatBeepArgs' %q: %v", args, err)
	}
	checkSameTimeline(t, tones, cmd.Tones(), ms/2)
}

func FuzzParseBeep(f *testing.F) {
	addSongSeeds(f, ".beep",
		imperialMarchScript, "beep -f 440 \\\n -l 100; beep -f 880 && beep", "# c\n-f 1 -r 3 -d 5", "beep -f '440' -l \"1\"0",
		"beep -f 440 | cat", "beep -f '440", "beep -s", "sudo beep", "beep -l 4294967296", "beep -f 0x1p4 -D 1e3")
	f.Fuzz(func(t *testing.T, text string) {
		tones, err := ParseBeep(text)
		checkParsed(t, FormatBeep, text, tones, err, 1, 20000)
	})
}

func FuzzParseRTTTL(f *testing.F) {
	addSongSeeds(f, ".rtttl",
		"test:d=4,o=5,b=120:a,8c6,p,2e.", "x::c", "x:d=4,o=5,b=120:8g.5,8g5.,h,C#", " n : d = 8 , l=15 : a , p ",
		"x:d=3:c", "x:b=1000:c", "x:d=4:c\ny:d=4:d", "x:d=4:b9", "x:d=4:c.6.", "x:d=4,o=5")
	f.Fuzz(func(t *testing.T, text string) {
		song, err := ParseRTTTL(text)
		checkParsed(t, FormatRTTTL, text, song.Tones, err, NoteFreq(0), NoteFreq(127))
	})
}

func FuzzParseMML(f *testing.F) {
	addSongSeeds(f, ".mml",
		"T120 L8 O4 C D E F# G4. P8 > C", "N0 N1 N84 ~4. P", "OL O3 B C A ON C", "ML C MS C MN C_ MF MB",
		"PLAY \"O3 C\"\nplay \"D\"", "O7", "C65", "X A$;", "PLAY \"C", "OL O6 B C E G# C C E G# C",
		"O3 C D, O2 E, O1 G2", "PLAY \"C\",\"E\"", "C,", ",C", "C,,D", "T60 C, L8 D")
	f.Fuzz(func(t *testing.T, text string) {
		song, err := ParseMML(text)
		checkParsed(t, FormatMML, text, song.Tones, err, NoteFreq(0), NoteFreq(127))
		if err != nil {
			return
		}
		if len(song.Voices) == 1 || len(song.Voices) > MaxVoices {
			t.Fatalf("%d voices: a song has none (one voice) or 2-%d", len(song.Voices), MaxVoices)
		}
		total := 0
		for i, v := range song.Voices {
			checkParsed(t, FormatMML, text, v, nil, NoteFreq(0), NoteFreq(127))
			if !hasSound(v) {
				t.Fatalf("voice %d has no sound", i+1)
			}
			total += len(v)
		}
		if total > MaxSongTones {
			t.Fatalf("%d tones in all voices, more than the limit", total)
		}
		if len(song.Voices) > 0 && diffTones(song.Voices[0], song.Tones) != "" {
			t.Fatalf("Tones is not the first voice")
		}
	})
}

func FuzzParseSong(f *testing.F) {
	files := songFiles(f)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(file), data)
		f.Add("song.txt", data)
	}
	f.Add("x", []byte("Tune::c"))
	f.Add("x.sh", []byte("-f 440"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		song, err := ParseSong(name, data)
		if err != nil {
			var syntax *SyntaxError
			if !errors.As(err, &syntax) || !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error %v: not a *SyntaxError behind the file name", err)
			}
			return
		}
		if song.Format < FormatBeep || song.Format > FormatMML {
			t.Fatalf("format %v", song.Format)
		}
		if song.Format != FormatRTTTL && song.Name != strings.TrimSuffix(filepath.Base(name), filepath.Ext(filepath.Base(name))) {
			t.Fatalf("name %q for file %q", song.Name, name)
		}
	})
}
