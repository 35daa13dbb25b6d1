package beepertest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// A Tolerance is how far a heard tone may stray from the one meant. The
// zero Tolerance asks for exactly what was meant, as a fake Clock gives.
type Tolerance struct {
	// Time bounds how far each tone's start and end, and the song's end,
	// may be from when they were meant, either way.
	Time time.Duration
	// Pitch bounds a tone's frequency relative to the one meant: 0.005
	// allows 0.5 % either way (a semitone is 6 %).
	Pitch float64
}

// A note is a tone on a song's timeline: it sounds from start to end.
type note struct {
	freq       float64
	start, end time.Duration
}

// timeline places tones on a timeline from 0, dropping what sounds
// nothing, and returns the song's end.
func timeline(tones []sequence.Tone) (notes []note, end time.Duration) {
	for _, t := range tones {
		if t.Freq > 0 && t.Length > 0 {
			notes = append(notes, note{freq: t.Freq, start: end, end: end + t.Length})
		}
		end += t.Length + t.Delay
	}
	return notes, end
}

// maxDifferences is how many differences CompareTones lists.
const maxDifferences = 10

// CompareTones compares the tones a speaker made (got, as CallsToTones or
// SegmentsToTones give them) with the tones meant (want; a song's tones
// as a speaker makes them are Heard(song)): the same number of tones, in
// order, each at the frequency meant within tol.Pitch, starting and ending
// within tol.Time of when it was meant to, and the song ending within
// tol.Time of its end. Times are from the start of each list, so one late
// tone shows as late, not as every tone after it. It returns nil when they
// agree, or an error listing each difference (at most maxDifferences).
func CompareTones(want, got []sequence.Tone, tol Tolerance) error {
	w, wantEnd := timeline(want)
	g, gotEnd := timeline(got)
	var diffs []string
	add := func(format string, args ...any) {
		diffs = append(diffs, fmt.Sprintf(format, args...))
	}
	if len(w) != len(g) {
		add("%d tones heard, %d meant", len(g), len(w))
	}
	for i := range min(len(w), len(g)) {
		wn, gn := w[i], g[i]
		if !pitchWithin(wn.freq, gn.freq, tol.Pitch) {
			add("tone %d: %.2f Hz, meant %.2f Hz (within %.2g %%)", i+1, gn.freq, wn.freq, 100*tol.Pitch)
		}
		if d := gn.start - wn.start; d.Abs() > tol.Time {
			add("tone %d (%.2f Hz): starts %v, %s (meant at %v, within %v)", i+1, wn.freq, gn.start, offBy(d), wn.start, tol.Time)
		}
		if d := gn.end - wn.end; d.Abs() > tol.Time {
			add("tone %d (%.2f Hz): ends %v, %s (meant at %v, within %v)", i+1, wn.freq, gn.end, offBy(d), wn.end, tol.Time)
		}
	}
	if len(w) == len(g) {
		if d := gotEnd - wantEnd; d.Abs() > tol.Time {
			add("the song ends %v, %s (meant at %v, within %v)", gotEnd, offBy(d), wantEnd, tol.Time)
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > maxDifferences {
		diffs = append(diffs[:maxDifferences], fmt.Sprintf("... %d differences in all", len(diffs)))
	}
	return fmt.Errorf("beepertest: what was heard is not what was meant:\n  %s\nmeant: %v\nheard: %v",
		strings.Join(diffs, "\n  "), want, got)
}

func pitchWithin(want, got, tol float64) bool {
	return got == want || math.Abs(got-want) <= tol*want
}

func offBy(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("%v early", -d)
	}
	return fmt.Sprintf("%v late", d)
}

// ErrSounding is returned by Check when the speaker still sounds after
// the song.
var ErrSounding = errors.New("beepertest: the speaker still sounds after the song")

// Check is what a test of a player on r asks once the song is over: that
// r is silent, and that what it heard between start and end (the song's
// start and the clock after Play) is want, as a speaker makes it
// (Heard(want)), within tol (CompareTones). It returns every fault it
// finds.
func (r *Recorder) Check(want []sequence.Tone, start, end time.Time, tol Tolerance) error {
	var errs []error
	if !r.Silent() {
		calls := r.Calls()
		errs = append(errs, fmt.Errorf("%w: its last call was %v", ErrSounding, calls[len(calls)-1]))
	}
	if err := CompareTones(Heard(want), r.Tones(start, end), tol); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
