package beeper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// A Speaker makes square-wave tones: the PC speaker through one of the
// kernel's interfaces, a WAV file, or nothing at all.
//
// Tone(freq) starts a tone of freq hertz that lasts until the next call;
// Tone(0) silences the speaker. A freq other than 0 must lie within Range:
// Tone refuses anything else with an error wrapping ErrFrequency, and the
// Player clamps tones into the range (with a warning) before they get
// here. The hardware itself rounds: the PC's timer makes 1193182/⌊1193182/f⌋
// hertz, so 440 Hz plays as 440.13 Hz.
//
// Close silences the speaker and releases it; it silences even when an
// earlier call failed, and is safe to call twice. A Speaker that keeps time
// itself (SelfTimed) sounds only while Hold runs.
//
// Errors are permanent: back ends retry interrupted system calls
// themselves, so an error from Tone means the device is gone or refuses us
// (driver unloaded, permission revoked, disk full for a WAV file). Close
// the Speaker and Open a new one to try again.
//
// A Speaker is not safe for concurrent use. A Player owns its Speaker
// while a song plays; stop the song (cancel its context) before calling
// Close from another goroutine.
type Speaker interface {
	Tone(freq float64) error
	// Range is the frequencies the speaker can make, as they reach the
	// hardware; it never changes.
	Range() FreqRange
	Close() error
	// String names the back end and its device for logs, e.g.
	// "evdev /dev/input/event3".
	String() string
}

// A SelfTimed speaker keeps time itself: instead of sounding from one Tone
// call to the next while the Player waits on its clock, it is told how long
// each sound lasts. The WAV speaker renders that many samples at once, so a
// song renders far faster than it plays; FreeBSD's speaker(4) device blocks
// in the kernel for the time.
//
// The Player calls StartSong, then Tone and Hold for every tone and
// silence, then FinishSong, which it calls even when playing failed.
type SelfTimed interface {
	Speaker
	// StartSong begins a song; name (which may be empty) names the file a
	// WAV speaker writing into a directory creates for it.
	StartSong(name string) error
	// Hold keeps the current tone, or silence, going for d more. Hold
	// measures time from StartSong, so rounding never accumulates.
	Hold(ctx context.Context, d time.Duration) error
	// FinishSong ends the song. path is the WAV file it was written to,
	// or "" for a speaker that writes no file.
	FinishSong() (path string, err error)
}

// A FreqRange is the closed interval of frequencies, in hertz, that a
// speaker can sound. 0 (silence) is always allowed besides.
type FreqRange struct {
	Min, Max float64
}

// Clamp brings freq into the range and reports whether it had to: 0 stays
// 0 (silence), and so do negative or NaN frequencies, which are not
// frequencies at all (the Player refuses them before they get here).
func (r FreqRange) Clamp(freq float64) (clamped float64, changed bool) {
	switch {
	case !(freq > 0):
		return freq, false
	case freq < r.Min:
		return r.Min, true
	case freq > r.Max:
		return r.Max, true
	}
	return freq, false
}

// Contains reports whether freq can be played: it is 0 or lies in r.
func (r FreqRange) Contains(freq float64) bool {
	return freq == 0 || (freq >= r.Min && freq <= r.Max)
}

// String is the range for messages: "21–32000 Hz", or "0 Hz and up" for a
// range with no upper bound.
func (r FreqRange) String() string {
	if math.IsInf(r.Max, 1) {
		return fmt.Sprintf("%g Hz and up", r.Min)
	}
	return fmt.Sprintf("%g–%g Hz", r.Min, r.Max)
}

// ErrFrequency is wrapped by the error a Speaker returns for a frequency
// outside its Range.
var ErrFrequency = errors.New("frequency out of the speaker's range")

// checkFreq is the Range check every back end does first.
func checkFreq(s Speaker, freq float64) error {
	if !s.Range().Contains(freq) {
		return fmt.Errorf("beeper: %s: %g Hz: %w (%s)", s, freq, ErrFrequency, s.Range())
	}
	return nil
}
