package sequence

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseBeep(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Tone
	}{
		{"one command", "beep -f 440 -l 100\n", []Tone{{440, 100 * ms, 0}}},
		{"no program name", "-f 440 -l 100", []Tone{{440, 100 * ms, 0}}},
		{"program path", "/usr/bin/beep -f 440 -l 100", []Tone{{440, 100 * ms, 0}}},
		{"bare beep is the default beep", "beep", []Tone{{440, 200 * ms, 0}}},
		{"continuation lines", "beep -f 440 \\\n  -l 100 -D 50 \\\n  -n -f 880\n", []Tone{{440, 100 * ms, 50 * ms}, {880, 200 * ms, 0}}},
		{"CRLF continuation", "beep -f 440 \\\r\n -l 100\r\n", []Tone{{440, 100 * ms, 0}}},
		{"comments", "#!/bin/sh\n# a tune\nbeep -f 440 -l 100 # the A\n\n# done\n", []Tone{{440, 100 * ms, 0}}},
		{"several lines play one after another", "beep -f 440 -l 100\nbeep -f 880 -l 50 -r 2 -d 10\n",
			[]Tone{{440, 100 * ms, 0}, {880, 50 * ms, 10 * ms}, {880, 50 * ms, 0}}},
		{"; and && separate commands", "beep -f 100 -l 1; beep -f 200 -l 2 && beep -f 300 -l 3",
			[]Tone{{100, 1 * ms, 0}, {200, 2 * ms, 0}, {300, 3 * ms, 0}}},
		{"quotes", `beep -f '440' -l "100" -D 1\0`, []Tone{{440, 100 * ms, 10 * ms}}},
		{"device and verbosity are ignored", "beep -e /dev/tty0 --verbose -f 440 -l 100", []Tone{{440, 100 * ms, 0}}},
		{"-r 0 is a command with no tones", "beep -r 0\nbeep -f 500 -l 5", []Tone{{500, 5 * ms, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBeep(tt.text)
			if err != nil {
				t.Fatalf("ParseBeep(%q) error: %v", tt.text, err)
			}
			if d := diffTones(tt.want, got); d != "" {
				t.Errorf("ParseBeep(%q) (-want +got):\n%s", tt.text, d)
			}
		})
	}
}

// checkSyntaxError fails t unless err is a *SyntaxError at line:column
// whose problem contains problem.
func checkSyntaxError(t *testing.T, err error, format Format, line, column int, problem string) {
	t.Helper()
	var syntax *SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatalf("error = %v, want a *SyntaxError", err)
	}
	if syntax.Format != format || syntax.Line != line || syntax.Column != column || !strings.Contains(syntax.Problem, problem) {
		t.Errorf("error (-want +got):\n  -%s line %d, column %d: ...%s...\n  +%s line %d, column %d: %s",
			format, line, column, problem, syntax.Format, syntax.Line, syntax.Column, syntax.Problem)
	}
}

func TestParseBeepErrors(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		line, column int
		problem      string
	}{
		{"bad value names its line and column", "beep -f 440\nbeep -l 10 -f abc\n", 2, 15, `abc: -f "abc" is not a frequency`},
		{"bad option after a continuation", "beep -f 440 \\\n  -x", 2, 3, `invalid option -- "x"`},
		{"missing value", "beep -l", 1, 6, "option requires an argument -- 'l'"},
		{"not beep", "sudo beep -f 440", 1, 1, "non-option arguments"},
		{"pipe", "beep -f 440 | cat", 1, 13, `shell syntax "|" is not supported`},
		{"variable", "beep -f $F", 1, 9, `shell syntax "$" is not supported`},
		{"variable in double quotes", `beep -f "$F"`, 1, 10, `shell expansion "$" is not supported`},
		{"open single quote", "beep -f '440\n", 1, 9, "this quote ' is never closed"},
		{"open double quote", "beep -f \"440", 1, 9, "this quote \" is never closed"},
		{"-s needs input", "beep -f 440\n  beep -s", 2, 8, "-s and -c beep for each line"},
		{"-h plays nothing", "beep -h", 1, 6, "-h/--help prints beep's usage"},
		{"--version plays nothing", "beep --version", 1, 6, "-v/--version prints"},
		{"empty song", "# nothing here\n\n", 1, 1, "no beep command found"},
		{"too many tones", "beep -r 300000 -n -r 300000 -n -r 300000 -n -r 300000", 1, 6, "beyond 1048576 tones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBeep(tt.text)
			checkSyntaxError(t, err, FormatBeep, tt.line, tt.column, tt.problem)
		})
	}
}

// rt is an RTTTL or MML note of MIDI note n lasting d, sounding 7/8 of it.
func rt(n int, d time.Duration) Tone {
	return Tone{Freq: NoteFreq(n), Length: d * 7 / 8, Delay: d - d*7/8}
}

func TestParseRTTTL(t *testing.T) {
	const (
		q120 = 500 * ms // a quarter note at b=120
		q63  = time.Minute / 63
	)
	tests := []struct {
		name     string
		text     string
		wantName string
		want     []Tone
	}{
		{"durations, octaves, pauses, dots", "test:d=4,o=5,b=120:a,8c6,p,2e.", "test",
			[]Tone{rt(81, q120), {NoteFreq(84), q120 / 2 * 7 / 8, q120/2 - q120/2*7/8 + q120}, rt(76, 3*q120)}},
		{"octave 4 has A at 440 Hz", "a:o=4:a", "a", []Tone{rt(69, time.Minute/63)}},
		{"missing settings default to d=4, o=6, b=63", "x::c", "x", []Tone{rt(84, q63)}},
		{"dot before the octave", "x:d=4,o=5,b=120:8g.5", "x", []Tone{rt(79, 3*q120/4)}},
		{"dot after the octave", "x:d=4,o=5,b=120:8g5.", "x", []Tone{rt(79, 3*q120/4)}},
		{"sharps and upper case", "x:d=4,o=5,b=120:C#,F#6", "x", []Tone{rt(73, q120), rt(90, q120)}},
		{"h is b", "x:d=4,o=5,b=120:h,b", "x", []Tone{rt(83, q120), rt(83, q120)}},
		{"unknown keys are ignored", "x:d=4,l=15,o=5,s=n,b=120:a", "x", []Tone{rt(81, q120)}},
		{"upper-case keys and blanks", " Song Name : D = 8 , O = 5 , B = 120 : a , p ", "Song Name", []Tone{rt(81, q120/2), {}}[:1]},
		{"leading pause is kept", "x:d=4,o=5,b=120:p,a", "x", []Tone{{Delay: q120}, rt(81, q120)}},
		{"comment lines and line breaks", "# a test\nx:d=4,o=5,b=120:\na,\n# more\nb\n", "x", []Tone{rt(81, q120), rt(83, q120)}},
		{"empty notes between commas", "x:d=4,o=5,b=120:a,,b,", "x", []Tone{rt(81, q120), rt(83, q120)}},
		{"whole and 64th notes", "x:d=4,o=5,b=120:1a,64a", "x", []Tone{rt(81, 4*q120), rt(81, q120/16)}},
	}
	tests[8].want[0].Delay += q120 / 2 // the pause after the note
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRTTTL(tt.text)
			if err != nil {
				t.Fatalf("ParseRTTTL(%q) error: %v", tt.text, err)
			}
			if got.Name != tt.wantName || got.Format != FormatRTTTL {
				t.Errorf("name, format = %q, %v; want %q, rtttl", got.Name, got.Format, tt.wantName)
			}
			if d := diffTones(tt.want, got.Tones); d != "" {
				t.Errorf("ParseRTTTL(%q) (-want +got):\n%s", tt.text, d)
			}
		})
	}
}

func TestParseRTTTLErrors(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		line, column int
		problem      string
	}{
		{"no colon", "just a name", 1, 1, "no ':' after the name"},
		{"settings never end", "x:d=4,o=5", 1, 10, "the settings section never ends"},
		{"bad default duration", "x:d=3:c", 1, 5, "default duration d=3"},
		{"bad default octave", "x:o=12:c", 1, 5, "default octave o=12"},
		{"zero beat", "x:b=0:c", 1, 5, "beats per minute b=0"},
		{"beat too fast", "x:b=1000:c", 1, 5, "beats per minute b=1000"},
		{"setting without value", "x:d,o=5:c", 1, 4, `setting "d" has no value`},
		{"setting value not a number", "x:d=four:c", 1, 5, "setting d needs a number"},
		{"junk after a setting", "x:d=4 o=5:c", 1, 7, "unexpected 'o' after setting d"},
		{"not a note", "x:d=4:c,z", 1, 9, "'z' is not a note"},
		{"duration without note", "x:d=4:c,8", 1, 10, "a duration with no note"},
		{"bad note duration", "x:d=4:3c", 1, 7, "duration 3"},
		{"bad octave", "x:d=4:c10", 1, 8, "octave 10"},
		{"above G9", "x:d=4:b9", 1, 7, "above G9"},
		{"two dots", "x:d=4:c.6.", 1, 7, "more than one dot"},
		{"sharp pause", "x:d=4:p#", 1, 8, "a pause cannot be sharp"},
		{"missing comma", "x:d=4:c d", 1, 9, "unexpected 'd' after note \"c\""},
		{"second song", "x:d=4:c\ny:d=4:d", 2, 1, "a second song seems to start here"},
		{"colon among the notes", "x:d=4:c,:d", 1, 9, "a second ':'"},
		{"no notes", "x:d=4:\n# nothing\n", 3, 1, "the song has no notes"},
		{"only pauses", "x:d=4:p,p", 1, 10, "the song has no notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRTTTL(tt.text)
			checkSyntaxError(t, err, FormatRTTTL, tt.line, tt.column, tt.problem)
		})
	}
}

func TestParseMML(t *testing.T) {
	const q = 500 * ms // a quarter note at the default tempo, 120
	legato := func(n int, d time.Duration) Tone { return Tone{Freq: NoteFreq(n), Length: d} }
	staccato := func(n int, d time.Duration) Tone { return Tone{Freq: NoteFreq(n), Length: d * 6 / 8, Delay: d - d*6/8} }
	tests := []struct {
		name string
		text string
		want []Tone
	}{
		{"GW-BASIC octaves: O3 C is middle C", "O3 C", []Tone{rt(60, q)}},
		{"GW-BASIC octaves: O3 A is 440 Hz", "O3 A", []Tone{rt(69, q)}},
		{"the default octave 4 has A at 880 Hz, not speaker(4)'s 1760", "A", []Tone{rt(81, q)}},
		{"sharps and flats", "O3 C# D+ E- C-", []Tone{rt(61, q), rt(63, q), rt(63, q), rt(59, q)}},
		{"lengths", "O3 L8 C C16 C1 C64", []Tone{rt(60, q/2), rt(60, q/4), rt(60, 4*q), rt(60, q/16)}},
		{"dots: each half as long again", "O3 C. C..", []Tone{rt(60, 3*q/2), rt(60, 9*q/4)}},
		{"octave steps stop at 0 and 6", "O6 > C O0 < C", []Tone{rt(96, q), rt(24, q)}},
		{"> and <", "O3 C > C < < C", []Tone{rt(60, q), rt(72, q), rt(48, q)}},
		{"N: N1 is O0's C, N37 middle C, N84 the top", "N1 N37 N84", []Tone{rt(24, q), rt(60, q), rt(107, q)}},
		{"N0 is a rest", "O3 C N0", []Tone{{NoteFreq(60), q * 7 / 8, q/8 + q}}},
		{"pauses P and ~, with length and dots", "O3 C P8 ~4. P", []Tone{{NoteFreq(60), q * 7 / 8, q/8 + q/2 + 3*q/2 + q}}},
		{"leading pause", "P2 O3 C", []Tone{{Delay: 2 * q}, rt(60, q)}},
		{"tempo", "T60 O3 C T255 C", []Tone{rt(60, time.Second), rt(60, 235294118)}}, // T255: 60 s / 255, to the nanosecond
		{"articulation", "O3 ML C MS C MN C", []Tone{legato(60, q), staccato(60, q), rt(60, q)}},
		{"slur plays one note legato", "O3 C_ C", []Tone{legato(60, q), rt(60, q)}},
		{"foreground and background are accepted", "MF MB O3 C", []Tone{rt(60, q)}},
		{"lower case and no blanks", "o3l8cdc", []Tone{rt(60, q/2), rt(62, q/2), rt(60, q/2)}},
		{"BASIC source lines", "PLAY \"O3 C\"\nplay \"D\"\n", []Tone{rt(60, q), rt(62, q)}},
		{"comment lines", "# tune\nO3 C\n  # more\nD", []Tone{rt(60, q), rt(62, q)}},
		{"speaker(4) octave tracking moves to the nearest octave", "OL O3 B C A", []Tone{rt(71, q), rt(72, q), rt(69, q)}},
		{"an octave command overrides tracking once", "OL O3 B O3 C", []Tone{rt(71, q), rt(60, q)}},
		{"ON turns tracking off", "OL O3 B ON C", []Tone{rt(71, q), rt(60, q)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMML(tt.text)
			if err != nil {
				t.Fatalf("ParseMML(%q) error: %v", tt.text, err)
			}
			if d := diffTones(tt.want, got.Tones); d != "" {
				t.Errorf("ParseMML(%q) (-want +got):\n%s", tt.text, d)
			}
		})
	}
}

func TestParseMMLVoices(t *testing.T) {
	const q = 500 * ms
	tests := []struct {
		name  string
		text  string
		want  [][]Tone // nil: one voice
		tones []Tone
	}{
		{"one voice has no Voices", "O3 C D", nil, []Tone{rt(60, q), rt(62, q)}},
		{"three voices", "O3 C D, O2 E, O1 G2", [][]Tone{{rt(60, q), rt(62, q)}, {rt(52, q)}, {rt(43, 2*q)}}, []Tone{rt(60, q), rt(62, q)}},
		{"each voice starts with the defaults", "T60 O3 L8 ML C, C", [][]Tone{{{NoteFreq(60), q, 0}}, {rt(72, q)}}, []Tone{{NoteFreq(60), q, 0}}},
		{"MSX BASIC's PLAY with quoted voices", "PLAY \"O3 C\",\"O3 E\"", [][]Tone{{rt(60, q)}, {rt(64, q)}}, []Tone{rt(60, q)}},
		{"voices on lines of their own", "O3 C D\n,\nO3 E\n", [][]Tone{{rt(60, q), rt(62, q)}, {rt(64, q)}}, []Tone{rt(60, q), rt(62, q)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMML(tt.text)
			if err != nil {
				t.Fatalf("ParseMML(%q) error: %v", tt.text, err)
			}
			if d := diffTones(tt.tones, got.Tones); d != "" {
				t.Errorf("ParseMML(%q).Tones (-want +got):\n%s", tt.text, d)
			}
			if len(got.Voices) != len(tt.want) {
				t.Fatalf("ParseMML(%q): %d voices, want %d", tt.text, len(got.Voices), len(tt.want))
			}
			for i := range tt.want {
				if d := diffTones(tt.want[i], got.Voices[i]); d != "" {
					t.Errorf("ParseMML(%q) voice %d (-want +got):\n%s", tt.text, i+1, d)
				}
				v, err := got.Voice(i)
				if err != nil || diffTones(tt.want[i], v) != "" {
					t.Errorf("Voice(%d) = %v, %v; want voice %d", i, v, err, i+1)
				}
			}
			n := max(len(tt.want), 1)
			if _, err := got.Voice(n); err == nil || !strings.Contains(err.Error(), "no voice") {
				t.Errorf("Voice(%d) of a song of %d voices: error %v, want \"no voice\"", n, n, err)
			}
		})
	}
}

func TestParseMMLErrors(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		line, column int
		problem      string
	}{
		{"unknown command", "C D H", 1, 5, "'H' is not an MML command"},
		{"octave too high", "O7 C", 1, 1, "O needs an octave 0–6"},
		{"octave missing", "O C", 1, 1, "O needs an octave"},
		{"length 0", "L0 C", 1, 1, "L needs a length 1–64"},
		{"length 65", "C\nL65 C", 2, 1, "L needs a length"},
		{"note length too long", "C65", 1, 2, "length 65 after \"C\""},
		{"pause length 0", "P0", 1, 2, "length 0 after \"P\""},
		{"tempo too slow", "T31 C", 1, 1, "T needs a tempo of 32–255"},
		{"tempo too fast", "T256 C", 1, 1, "T needs a tempo"},
		{"note number too high", "N85", 1, 1, "N85: want a note number 0–84"},
		{"note number missing", "N C", 1, 1, "N needs a note number"},
		{"unknown M", "MX C", 1, 1, "M must be followed by"},
		{"BASIC substring", "X A$;", 1, 1, "BASIC variables and substrings"},
		{"BASIC variable", "O=I;", 1, 2, "BASIC variables and substrings"},
		{"too many dots", "C.........", 1, 2, "9 dots"},
		{"unclosed PLAY string", "PLAY \"C D", 1, 10, "quote is never closed"},
		{"no notes", "T120 L4 P4", 1, 11, "the song has no notes"},
		{"empty", "", 1, 1, "the song has no notes"},
		{"tracking beyond MIDI", "OL O6 B" + strings.Repeat(" C E G# C", 12), 1, 22, "outside the MIDI range"},
		{"a voice of rests", "O3 C, P4", 1, 9, "voice 2 has no notes"},
		{"an empty first voice", ", C", 1, 1, "voice 1 has no notes"},
		{"a trailing comma", "C D,", 1, 5, "voice 2 has no notes"},
		{"too many voices", strings.Repeat("C,", MaxVoices) + "C", 1, 2*MaxVoices + 2, "more than 16 voices"},
		{"a later voice's error is placed in it", "C,\nD H", 2, 3, "'H' is not an MML command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMML(tt.text)
			checkSyntaxError(t, err, FormatMML, tt.line, tt.column, tt.problem)
		})
	}
}

func TestParseSongDetectsFormat(t *testing.T) {
	tests := []struct {
		name       string
		filename   string
		text       string
		wantFormat Format
		wantName   string
	}{
		{"beep by extension", "dir/tune.beep", "-f 440", FormatBeep, "tune"},
		{"shell script", "tune.sh", "#!/bin/sh\nbeep -f 440", FormatBeep, "tune"},
		{"rtttl by extension", "x.rtttl", "Name:d=4:c", FormatRTTTL, "Name"},
		{"rtx by extension", "x.RTX", "Name:d=4:c", FormatRTTTL, "Name"},
		{"mml by extension", "x.mml", "C D E", FormatMML, "x"},
		{"beep by content", "song.txt", "# comment\nbeep -f 440", FormatBeep, "song"},
		{"beep options by content", "song", "-f 440 -l 100", FormatBeep, "song"},
		{"rtttl by content", "song.txt", "Tune:d=4,o=5,b=100:c", FormatRTTTL, "Tune"},
		{"rtttl with empty settings by content", "song.txt", "Tune::c", FormatRTTTL, "Tune"},
		{"mml by content", "song.txt", "T120 O3 C D E", FormatMML, "song"},
		{"RTTTL without a name falls back to the file name", "x.rtttl", ":d=4:c", FormatRTTTL, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSong(tt.filename, []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tt.wantFormat || got.Name != tt.wantName || len(got.Tones) == 0 {
				t.Errorf("ParseSong(%q) (-want +got):\n  -%v %q\n  +%v %q (%d tones)", tt.filename, tt.wantFormat, tt.wantName, got.Format, got.Name, len(got.Tones))
			}
		})
	}
}

func TestParseSongErrorNamesFile(t *testing.T) {
	_, err := ParseSong("songs/bad.mml", []byte("C D\nE H"))
	var syntax *SyntaxError
	if !errors.As(err, &syntax) || !strings.HasPrefix(err.Error(), "songs/bad.mml: sequence: mml song, line 2, column 3: ") {
		t.Errorf("error = %v; want the file name, then line 2, column 3", err)
	}
}

func TestReadSongFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.mml")
	if err := os.WriteFile(big, []byte(strings.Repeat("C", MaxSongBytes+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSongFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadSongFile(too big) = %v, want an error saying it is too large", err)
	}
	binary := filepath.Join(dir, "tune.beep")
	if err := os.WriteFile(binary, []byte("beep\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSongFile(binary); err == nil || !strings.Contains(err.Error(), "binary file") {
		t.Errorf("ReadSongFile(binary) = %v, want an error saying it is binary", err)
	}
	if _, err := ReadSongFile(filepath.Join(dir, "missing.beep")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadSongFile(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

// TestSongsDirectory parses every song shipped in songs/ and checks that
// each has a header comment, covering every format between them.
func TestSongsDirectory(t *testing.T) {
	files := songFiles(t)
	formats := map[Format]int{}
	for _, file := range files {
		song, err := ReadSongFile(file)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		formats[song.Format]++
		if d := song.Duration(); d < 5*time.Second || d > 5*time.Minute {
			t.Errorf("%s lasts %v: is it really a tune?", file, d)
		}
		data, _ := os.ReadFile(file)
		if !strings.HasPrefix(string(data), "# ") || !strings.Contains(string(data), "ublic domain") && !strings.Contains(string(data), "License") {
			t.Errorf("%s: want a header comment naming the source and its licence", file)
		}
	}
	for _, f := range []Format{FormatBeep, FormatRTTTL, FormatMML} {
		if formats[f] == 0 {
			t.Errorf("songs/ has no %v song", f)
		}
	}
	if len(files) < 4 {
		t.Errorf("songs/ holds %d songs, want the Imperial March and at least three more", len(files))
	}
}

// TestImperialMarchFile checks that songs/imperial-march.beep plays exactly
// what the original script plays.
func TestImperialMarchFile(t *testing.T) {
	song, err := ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseBeep(imperialMarchScript)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTones(want, song.Tones); d != "" {
		t.Errorf("songs/imperial-march.beep differs from the script (-want +got):\n%s", d)
	}
	if len(song.Tones) != 66 || song.Duration() != 21550*ms {
		t.Errorf("%d notes lasting %v, want 66 lasting 21.55s", len(song.Tones), song.Duration())
	}
}
