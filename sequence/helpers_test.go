package sequence

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

// diffTones describes how got differs from want, one line per differing
// tone in (-want +got) style, or "" when they are equal.
func diffTones(want, got []Tone) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = fmtTone(want[i])
		}
		if i < len(got) {
			g = fmtTone(got[i])
		}
		if w != g {
			fmt.Fprintf(&b, "tone %d:\n  -%s\n  +%s\n", i, w, g)
		}
	}
	return b.String()
}

func fmtTone(t Tone) string {
	return fmt.Sprintf("{Freq:%v Length:%v Delay:%v}", t.Freq, t.Length, t.Delay)
}

// A segment is a stretch of a song's sound: a frequency (0 for silence)
// from Start to End.
type segment struct {
	freq       float64
	start, end time.Duration
}

// timeline is what a listener of beep hears from tones: sound and silence,
// with adjacent stretches of the same kind merged and empty ones dropped.
// Frequencies are rounded to whole hertz as beep plays them; tones beep
// cannot sound (below 0.5 Hz) are silence.
func timeline(tones []Tone) []segment {
	var segs []segment
	var at time.Duration
	add := func(freq float64, d time.Duration) {
		if d <= 0 {
			return
		}
		if n := len(segs); n > 0 && segs[n-1].freq == freq {
			segs[n-1].end += d
		} else {
			segs = append(segs, segment{freq: freq, start: at, end: at + d})
		}
		at += d
	}
	for _, t := range tones {
		f := math.Floor(math.Min(t.Freq, 20000) + 0.5)
		if !(t.Freq >= 0.5) {
			f = 0
		}
		add(f, t.Length)
		add(0, t.Delay)
	}
	return segs
}

// checkSameTimeline fails t unless got sounds like want, every boundary
// within tolerance.
func checkSameTimeline(t *testing.T, want, got []Tone, tolerance time.Duration) {
	t.Helper()
	w, g := timeline(want), timeline(got)
	if len(w) != len(g) {
		t.Fatalf("timeline has %d stretches of sound and silence, want %d\n-want %v\n+got  %v", len(g), len(w), w, g)
	}
	for i := range w {
		if w[i].freq != g[i].freq || absDuration(w[i].start-g[i].start) > tolerance || absDuration(w[i].end-g[i].end) > tolerance {
			t.Fatalf("stretch %d: (-want +got)\n  -%+v\n  +%+v", i, w[i], g[i])
		}
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// imperialMarch is the reference table of the Imperial March: frequency
// as written in the script, length and delay after in ms (-1: none).
const imperialMarchTable = `
392 350 100 | 392 350 100 | 392 350 100 | 311.1 250 100 | 466.2 25 100 | 392 350 100
311.1 250 100 | 466.2 25 100 | 392 700 100 | 587.32 350 100 | 587.32 350 100 | 587.32 350 100
622.26 250 100 | 466.2 25 100 | 369.99 350 100 | 311.1 250 100 | 466.2 25 100 | 392 700 100
784 350 100 | 392 250 100 | 392 25 100 | 784 350 100 | 739.98 250 100 | 698.46 25 100
659.26 25 100 | 622.26 25 100 | 659.26 50 400 | 415.3 25 200 | 554.36 350 100 | 523.25 250 100
493.88 25 100 | 466.16 25 100 | 440 25 100 | 466.16 50 400 | 311.13 25 200 | 369.99 350 100
311.13 250 100 | 392 25 100 | 466.16 350 100 | 392 250 100 | 466.16 25 100 | 587.32 700 100
784 350 100 | 392 250 100 | 392 25 100 | 784 350 100 | 739.98 250 100 | 698.46 25 100
659.26 25 100 | 622.26 25 100 | 659.26 50 400 | 415.3 25 200 | 554.36 350 100 | 523.25 250 100
493.88 25 100 | 466.16 25 100 | 440 25 100 | 466.16 50 400 | 311.13 25 200 | 392 350 100
311.13 250 100 | 466.16 25 100 | 392.00 300 150 | 311.13 250 100 | 466.16 25 100 | 392 700 -1
`

type imperialNote struct {
	freq          float64
	length, delay int
}

func imperialMarchNotes(t testing.TB) []imperialNote {
	t.Helper()
	var notes []imperialNote
	for _, cell := range strings.FieldsFunc(imperialMarchTable, func(r rune) bool { return r == '|' || r == '\n' }) {
		var n imperialNote
		if _, err := fmt.Sscan(cell, &n.freq, &n.length, &n.delay); err != nil {
			t.Fatalf("bad table cell %q: %v", cell, err)
		}
		notes = append(notes, n)
	}
	if len(notes) != 66 {
		t.Fatalf("the table has %d notes, want 66", len(notes))
	}
	return notes
}

// imperialMarchScript is the command line of the widely copied script
// (itay-grudev/imperial, MIT License, Copyright (c) 2015 Itay Grudev), as it
// calls beep.
const imperialMarchScript = `beep -l 350 -f 392 -D 100 -n -l 350 -f 392 -D 100 -n -l 350 -f 392 -D 100 -n -l 250 -f 311.1 -D 100 -n -l 25 -f 466.2 -D 100 -n -l 350 -f 392 -D 100 -n -l 250 -f 311.1 -D 100 -n -l 25 -f 466.2 -D 100 -n -l 700 -f 392 -D 100 -n -l 350 -f 587.32 -D 100 -n -l 350 -f 587.32 -D 100 -n -l 350 -f 587.32 -D 100 -n -l 250 -f 622.26 -D 100 -n -l 25 -f 466.2 -D 100 -n -l 350 -f 369.99 -D 100 -n -l 250 -f 311.1 -D 100 -n -l 25 -f 466.2 -D 100 -n -l 700 -f 392 -D 100 -n -l 350 -f 784 -D 100 -n -l 250 -f 392 -D 100 -n -l 25 -f 392 -D 100 -n -l 350 -f 784 -D 100 -n -l 250 -f 739.98 -D 100 -n -l 25 -f 698.46 -D 100 -n -l 25 -f 659.26 -D 100 -n -l 25 -f 622.26 -D 100 -n -l 50 -f 659.26 -D 400 -n -l 25 -f 415.3 -D 200 -n -l 350 -f 554.36 -D 100 -n -l 250 -f 523.25 -D 100 -n -l 25 -f 493.88 -D 100 -n -l 25 -f 466.16 -D 100 -n -l 25 -f 440 -D 100 -n -l 50 -f 466.16 -D 400 -n -l 25 -f 311.13 -D 200 -n -l 350 -f 369.99 -D 100 -n -l 250 -f 311.13 -D 100 -n -l 25 -f 392 -D 100 -n -l 350 -f 466.16 -D 100 -n -l 250 -f 392 -D 100 -n -l 25 -f 466.16 -D 100 -n -l 700 -f 587.32 -D 100 -n -l 350 -f 784 -D 100 -n -l 250 -f 392 -D 100 -n -l 25 -f 392 -D 100 -n -l 350 -f 784 -D 100 -n -l 250 -f 739.98 -D 100 -n -l 25 -f 698.46 -D 100 -n -l 25 -f 659.26 -D 100 -n -l 25 -f 622.26 -D 100 -n -l 50 -f 659.26 -D 400 -n -l 25 -f 415.3 -D 200 -n -l 350 -f 554.36 -D 100 -n -l 250 -f 523.25 -D 100 -n -l 25 -f 493.88 -D 100 -n -l 25 -f 466.16 -D 100 -n -l 25 -f 440 -D 100 -n -l 50 -f 466.16 -D 400 -n -l 25 -f 311.13 -D 200 -n -l 350 -f 392 -D 100 -n -l 250 -f 311.13 -D 100 -n -l 25 -f 466.16 -D 100 -n -l 300 -f 392.00 -D 150 -n -l 250 -f 311.13 -D 100 -n -l 25 -f 466.16 -D 100 -n -l 700 -f 392`

// songFiles lists the song files shipped in songs/ (the directory also
// holds the Go package that embeds them).
func songFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, ext := range []string{"*.beep", "*.rtttl", "*.mml"} {
		found, err := filepath.Glob(filepath.Join("..", "songs", ext))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, found...)
	}
	return files
}
