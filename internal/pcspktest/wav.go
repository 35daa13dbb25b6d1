package pcspktest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/beeper/beepertest"
)

// A Recording is a mono 16-bit PCM WAV file in memory.
type Recording struct {
	Rate    int
	Samples []int16
}

// Duration is how long the recording plays.
func (r Recording) Duration() time.Duration {
	return time.Duration(len(r.Samples)) * time.Second / time.Duration(r.Rate)
}

// ReadWAV reads the RIFF WAVE file qemu wrote (beepertest.ReadWAV does
// the decoding) and checks it is what BootGuest asks qemu for: mono,
// 16-bit, and finished. A data chunk whose size was never filled in means
// qemu did not exit cleanly, and is reported as such.
func ReadWAV(r io.Reader) (Recording, error) {
	w, err := beepertest.ReadWAV(r)
	if err != nil {
		return Recording{}, fmt.Errorf("pcspktest: %w", err)
	}
	if w.Channels != 1 {
		return Recording{}, fmt.Errorf("pcspktest: WAV has %d channels, want mono (qemu's out.channels=1)", w.Channels)
	}
	if w.Unfinished {
		return Recording{}, errors.New("pcspktest: WAV data chunk's size was never written (qemu must exit cleanly, by the guest powering off)")
	}
	return Recording{Rate: w.Rate, Samples: w.Samples}, nil
}

// crossings returns where the signal crosses the midpoint between its
// extremes, in fractional sample positions, interpolating linearly between
// the two samples on either side. For the speaker's full-scale square wave
// each crossing lies within half a sample of the true edge.
func crossings(samples []int16) []float64 {
	if len(samples) < 2 {
		return nil
	}
	lo, hi := samples[0], samples[0]
	for _, s := range samples {
		lo, hi = min(lo, s), max(hi, s)
	}
	if lo == hi {
		return nil
	}
	mid := (float64(lo) + float64(hi)) / 2
	var at []float64
	prev := float64(samples[0]) - mid
	for i := 1; i < len(samples); i++ {
		cur := float64(samples[i]) - mid
		if (prev < 0) != (cur < 0) {
			at = append(at, float64(i-1)+prev/(prev-cur))
		}
		prev = cur
	}
	return at
}

// MeasureFrequency measures the frequency of a square wave from its zero
// crossings: half a period lies between two neighbours. qemu restarts the
// wave's phase where one sound joins the next, which leaves a stray short
// half period; half periods further than glitchTolerance from the median
// are left out, and the rest averaged. The first and last crossing are
// placed to half a sample each, so over a span of n samples the result is
// good to about 1/n.
func MeasureFrequency(samples []int16, rate int) (float64, error) {
	at := crossings(samples)
	if len(at) < 3 {
		return 0, fmt.Errorf("pcspktest: %d samples hold %d crossings, too few for a frequency (want a full period)", len(samples), len(at))
	}
	halves := make([]float64, len(at)-1)
	for i := range halves {
		halves[i] = at[i+1] - at[i]
	}
	sorted := slices.Clone(halves)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	tolerance := max(1.5, median*glitchTolerance)
	sum, count := 0.0, 0
	for _, h := range halves {
		if math.Abs(h-median) <= tolerance {
			sum += h
			count++
		}
	}
	return float64(count) / 2 / sum * float64(rate), nil
}

// glitchTolerance is how far, relative to the median, a half period may
// stray and still count: a semitone is 6 %, the sampling grid ±1 sample.
const glitchTolerance = 0.03

// A Span is where one Sound lies in the recording, in samples.
type Span struct{ From, To int }

// LocateSounds finds each sound of the trace in the recording. qemu writes
// nothing while the speaker is off, so the recording is the sounds joined
// end to end, but not exactly: the first comes out some tens of
// milliseconds long, the last as much short, and on a host loaded with
// other work sounds lose parts of their tails. So positions from the trace
// drift; the pitches do not. LocateSounds assigns every half period of the
// recording, in order, to one of the runs of sounds the trace says the
// chip made at one count, so that the half periods differ least from the
// runs' (a dynamic programme over half periods × runs), then splits a run
// of several sounds in the proportions of their lengths. It only places
// boundaries: MeasureFrequency then measures what each span holds. lag is
// how much longer the first run came out than the trace says.
func LocateSounds(rec Recording, sounds []Sound) (spans []Span, lag time.Duration) {
	spans = make([]Span, len(sounds))
	if len(sounds) == 0 {
		return spans, 0
	}
	// Runs of neighbouring sounds at one count: the recording cannot
	// tell them apart.
	type run struct {
		first, last int     // sounds[first..last]
		half        float64 // half period in samples, as the trace has it
	}
	var runs []run
	for k, s := range sounds {
		if k > 0 && s.Divisor == sounds[k-1].Divisor {
			runs[len(runs)-1].last = k
			continue
		}
		runs = append(runs, run{first: k, last: k, half: float64(rec.Rate) / 2 / s.Freq()})
	}
	at := crossings(rec.Samples)
	halves := make([]float64, max(len(at)-1, 0))
	for j := range halves {
		halves[j] = at[j+1] - at[j]
	}
	ends := assignRuns(halves, len(runs), func(j, r int) float64 {
		d := halves[j] - runs[r].half
		return d * d
	})
	// Run r spans from the crossing that starts its first half period to
	// the one that ends its last.
	from := 0
	for r, rn := range runs {
		to := len(rec.Samples)
		if r+1 < len(runs) && ends != nil {
			to = int(math.Round(at[ends[r]+1]))
		}
		var traced time.Duration
		for k := rn.first; k <= rn.last; k++ {
			traced += sounds[k].Length()
		}
		if r == 0 {
			lag = time.Duration(to)*time.Second/time.Duration(rec.Rate) - traced
		}
		// Share the run out in proportion to the sounds' lengths.
		start, elapsed := from, time.Duration(0)
		for k := rn.first; k <= rn.last; k++ {
			elapsed += sounds[k].Length()
			end := to
			if k < rn.last && traced > 0 {
				end = from + int(float64(to-from)*elapsed.Seconds()/traced.Seconds())
			}
			spans[k] = Span{From: start, To: end}
			start = end
		}
		from = to
	}
	return spans, lag
}

// assignRuns splits the half periods 0..n-1 into runs consecutive,
// non-empty stretches, run after run, at the least total cost(j, r) of half
// period j lying in run r, and returns the index of each run's last half
// period; nil when there are fewer half periods than runs.
func assignRuns(halves []float64, runs int, cost func(j, r int) float64) []int {
	n := len(halves)
	if n < runs || runs == 0 {
		return nil
	}
	// best[r] is the least cost of half periods 0..j with j in run r;
	// stay[r*n+j] records whether j-1 was in run r too.
	best := make([]float64, runs)
	next := make([]float64, runs)
	stay := make([]bool, runs*n)
	for r := range best {
		best[r] = math.Inf(1)
	}
	best[0] = cost(0, 0)
	for j := 1; j < n; j++ {
		for r := 0; r < runs; r++ {
			from, stayed := best[r], true
			if r > 0 && best[r-1] < from {
				from, stayed = best[r-1], false
			}
			next[r] = from + cost(j, r)
			stay[r*n+j] = stayed
		}
		best, next = next, best
	}
	ends := make([]int, runs)
	r := runs - 1
	ends[r] = n - 1
	for j := n - 1; j > 0 && r > 0; j-- {
		if !stay[r*n+j] {
			r--
			ends[r] = j - 1
		}
	}
	return ends
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
