package beepertest

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/sequence"
)

// Epoch is a fixed start time for fake clocks, so that recorded times are
// the same in every run.
var Epoch = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

// A Call is one Tone call a Recorder received: the frequency (0 silences)
// and the time on the recorder's clock.
type Call struct {
	At   time.Time
	Freq float64
}

// String is the call's time of day, to the microsecond, and frequency,
// for failure messages.
func (c Call) String() string { return fmt.Sprintf("%s %g Hz", c.At.Format("15:04:05.000000"), c.Freq) }

// A Recorder is a beeper.Speaker that records every call with the time
// its clock reads, for tests: hand it to a beeper.Player with the same
// fake clock (clocktest.Fake) and compare what it heard with what was meant.
type Recorder struct {
	// FreqRange is what the recorder claims to play; NewRecorder sets it
	// to everything.
	FreqRange beeper.FreqRange

	clock interface{ Now() time.Time }

	mu       sync.Mutex
	calls    []Call
	closed   bool
	closedAt time.Time
}

var _ beeper.Speaker = (*Recorder)(nil)

// NewRecorder returns a Recorder that timestamps calls with clock.
func NewRecorder(clock interface{ Now() time.Time }) *Recorder {
	return &Recorder{clock: clock, FreqRange: beeper.FreqRange{Min: 0, Max: math.Inf(1)}}
}

// Tone records the call. Like a real speaker, it refuses a frequency
// outside its range and any call after Close.
func (r *Recorder) Tone(freq float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("beepertest: recorder: Tone(%g) after Close", freq)
	}
	if !r.FreqRange.Contains(freq) {
		return fmt.Errorf("beepertest: recorder: %g Hz: %w (%s)", freq, beeper.ErrFrequency, r.FreqRange)
	}
	r.calls = append(r.calls, Call{At: r.clock.Now(), Freq: freq})
	return nil
}

// Range is the recorder's FreqRange field: the Player clamps to it, and
// Tone refuses what lies outside, as with a real speaker.
func (r *Recorder) Range() beeper.FreqRange { return r.FreqRange }

// String names the recorder in the Player's log lines.
func (r *Recorder) String() string { return "recorder" }

// Close records that the speaker was closed; a second Close does nothing.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed, r.closedAt = true, r.clock.Now()
	}
	return nil
}

// Calls returns a copy of the calls so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Closed reports whether Close was called, and when.
func (r *Recorder) Closed() (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed, r.closedAt
}

// Silent reports whether the speaker is silent now: no call yet, or the
// last one was Tone(0).
func (r *Recorder) Silent() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls) == 0 || r.calls[len(r.calls)-1].Freq == 0
}

// Tones turns the calls into the tones a listener heard between start and
// end; see CallsToTones.
func (r *Recorder) Tones(start, end time.Time) []sequence.Tone {
	return CallsToTones(r.Calls(), start, end)
}

// CallsToTones turns Tone calls into tones: each call with a frequency
// starts a tone that lasts until the next call; silence after it, until
// the next tone or end, is its Delay. Silence between start and the first
// tone becomes a tone of Length 0, as sequence.Compile makes it. A tone
// still sounding at end lasts until end.
func CallsToTones(calls []Call, start, end time.Time) []sequence.Tone {
	var tones []sequence.Tone
	at := start       // where the current tone or silence began
	sounding := false // whether a tone is open (else silence since at)
	for _, c := range calls {
		switch {
		case sounding:
			tones[len(tones)-1].Length = c.At.Sub(at)
		case len(tones) > 0:
			tones[len(tones)-1].Delay += c.At.Sub(at)
		case c.At.After(start):
			tones = append(tones, sequence.Tone{Delay: c.At.Sub(start)})
		}
		if c.Freq > 0 {
			tones = append(tones, sequence.Tone{Freq: c.Freq})
		}
		at, sounding = c.At, c.Freq > 0
	}
	switch {
	case sounding:
		tones[len(tones)-1].Length = end.Sub(at)
	case len(tones) > 0:
		tones[len(tones)-1].Delay += end.Sub(at)
	case end.After(start):
		tones = append(tones, sequence.Tone{Delay: end.Sub(start)})
	}
	return tones
}

// Heard is what a speaker makes of tones: rests (Freq 0) and tones of no
// length fold into the silence before them, so the result is what
// CallsToTones gives back from a recording of tones played.
func Heard(tones []sequence.Tone) []sequence.Tone {
	var out []sequence.Tone
	for _, t := range tones {
		if t.Freq > 0 && t.Length > 0 {
			out = append(out, t)
			continue
		}
		silence := t.Length + t.Delay
		switch {
		case silence == 0:
		case len(out) == 0:
			out = append(out, sequence.Tone{Delay: silence})
		default:
			out[len(out)-1].Delay += silence
		}
	}
	return out
}
