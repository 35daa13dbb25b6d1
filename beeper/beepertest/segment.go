package beepertest

import (
	"fmt"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// A Segment is a stretch of a WAV's samples that is one square-wave tone,
// or silence: Samples[First : First+N].
type Segment struct {
	First, N int
	Start    time.Duration // First as time from the start of the file
	Length   time.Duration // N as time
	// Freq is the tone's frequency measured from its zero crossings, 0
	// for silence.
	Freq float64
}

// String is the segment's start, length and frequency (or "silence"), for
// failure messages.
func (s Segment) String() string {
	if s.Freq == 0 {
		return fmt.Sprintf("%v +%v silence", s.Start, s.Length)
	}
	return fmt.Sprintf("%v +%v %.2f Hz", s.Start, s.Length, s.Freq)
}

// SilenceThreshold is the level below which a sample counts as silence:
// square waves from the PC speaker, ours or qemu's, are far louder.
const SilenceThreshold = 1024

// A run is a stretch of samples of one sign (0: silence).
type run struct {
	sign     int8
	first, n int
}

// Segments splits the samples into tones and silences.
//
// A silence is a run of samples below SilenceThreshold. Between
// silences, runs of one sign are half-periods of a square wave; a new tone
// starts where two consecutive half-periods both differ from the running
// mean of the tone so far, and agree with each other, by more than 1.5
// samples and 3 %. Tones that follow each other without silence are
// therefore told apart only when their half-periods differ by that much
// (a semitone up to about 600 Hz at 32 kHz), and the boundary between
// them is placed within one half-period. The first and last half-period of
// a tone may be cut short, so a tone's frequency is measured over the
// ones between: it is exact to one sample in that span (0.15 % for 25 ms
// at 32 kHz).
func (w *WAV) Segments() []Segment {
	runs := signRuns(w.Samples)
	var segs []Segment
	for i := 0; i < len(runs); {
		if runs[i].sign == 0 {
			segs = append(segs, w.segment(runs[i:i+1], 0))
			i++
			continue
		}
		j := i
		for j < len(runs) && runs[j].sign != 0 {
			j++
		}
		for _, tone := range splitTones(runs[i:j]) {
			segs = append(segs, w.segment(tone, measureFreq(tone, w.Rate)))
		}
		i = j
	}
	return segs
}

func (w *WAV) segment(runs []run, freq float64) Segment {
	first := runs[0].first
	last := runs[len(runs)-1]
	n := last.first + last.n - first
	return Segment{
		First:  first,
		N:      n,
		Start:  samplesToDuration(int64(first), w.Rate),
		Length: samplesToDuration(int64(n), w.Rate),
		Freq:   freq,
	}
}

func signRuns(samples []int16) []run {
	var runs []run
	for i, s := range samples {
		var sign int8
		switch {
		case s >= SilenceThreshold:
			sign = 1
		case s <= -SilenceThreshold:
			sign = -1
		}
		if len(runs) > 0 && runs[len(runs)-1].sign == sign {
			runs[len(runs)-1].n++
			continue
		}
		runs = append(runs, run{sign: sign, first: i, n: 1})
	}
	return runs
}

// splitTones cuts a stretch of half-period runs where the period changes.
func splitTones(runs []run) [][]run {
	var tones [][]run
	start := 0
	var sum, count int // full half-periods of the current tone: all but its first run
	for i := start + 1; i < len(runs); i++ {
		if count >= 2 && i+1 < len(runs) {
			mean := float64(sum) / float64(count)
			a, b := float64(runs[i].n), float64(runs[i+1].n)
			if differ(a, mean) && differ(b, mean) && !differ(a, b) {
				// The run before may be the new tone's first, cut short
				// by where its phase began.
				cut := i
				if prev := float64(runs[i-1].n); i-1 > start+1 && differ(prev, mean) && prev < a+1.5 {
					cut = i - 1
				}
				tones = append(tones, runs[start:cut])
				start, sum, count = cut, 0, 0
				i = cut
				continue
			}
		}
		sum += runs[i].n
		count++
	}
	return append(tones, runs[start:])
}

// differ reports whether two half-period lengths, in samples, belong to
// different tones.
func differ(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d > 1.5 && d > 0.03*max(a, b)
}

// measureFreq is the frequency of a tone's runs: the half-periods between
// its first and last zero crossing, over the time between them. Half
// periods unlike the tone's median, cut short where a tone ends or
// begins, are left out.
func measureFreq(runs []run, rate int) float64 {
	if len(runs) < 3 {
		total := 0
		for _, r := range runs {
			total += r.n
		}
		return float64(rate) * float64(len(runs)) / (2 * float64(total))
	}
	inner := runs[1 : len(runs)-1]
	lengths := make([]int, len(inner))
	for i, r := range inner {
		lengths[i] = r.n
	}
	slices.Sort(lengths)
	median := float64(lengths[len(lengths)/2])
	span, count := 0, 0
	for _, r := range inner {
		if !differ(float64(r.n), median) {
			span += r.n
			count++
		}
	}
	return float64(rate) * float64(count) / (2 * float64(span))
}

// SegmentsToTones turns segments into tones, as CallsToTones does calls:
// a silence becomes the Delay of the tone before it, or a leading tone of
// Length 0.
func SegmentsToTones(segs []Segment) []sequence.Tone {
	var tones []sequence.Tone
	for _, s := range segs {
		switch {
		case s.Freq > 0:
			tones = append(tones, sequence.Tone{Freq: s.Freq, Length: s.Length})
		case len(tones) == 0:
			tones = append(tones, sequence.Tone{Delay: s.Length})
		default:
			tones[len(tones)-1].Delay += s.Length
		}
	}
	return tones
}
