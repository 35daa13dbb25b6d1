package beeper

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// spkrRange: speaker(4) divides the timer clock by the frequency into a
// 16-bit counter; above 20 kHz nobody hears it.
var spkrRange = FreqRange{Min: 19, Max: 20000}

// spkrChunk is the longest single tone request: a request cannot be
// stopped once made, so a cancel waits for at most this long.
const spkrChunk = 500 * time.Millisecond

// spkrTick is speaker(4)'s unit of duration, 1/100 s.
const spkrTick = 10 * time.Millisecond

// spkrDevice plays one tone on FreeBSD's speaker(4): SPKRTONE returns
// when the tone is over, or earlier when a signal interrupts the kernel's
// sleep. Tests hand in a fake.
type spkrDevice interface {
	tone(hz, ticks int) error
	Close() error
}

// spkr drives speaker(4). The device cannot hold a tone until told
// otherwise, only for a duration given up front, so spkr is SelfTimed:
// Hold makes the requests and blocks until the song reaches the end of
// the hold, measured on the clock from StartSong, so that its 10 ms
// resolution and early returns never add up.
type spkr struct {
	dev   spkrDevice
	name  string
	clock clock.Clock

	freq  float64
	start time.Time
	held  time.Duration
}

var _ SelfTimed = (*spkr)(nil)

func newSpkr(dev spkrDevice, name string, clk clock.Clock) *spkr {
	return &spkr{dev: dev, name: name, clock: clk}
}

func (s *spkr) String() string   { return "speaker " + s.name }
func (s *spkr) Range() FreqRange { return spkrRange }

func (s *spkr) Tone(freq float64) error {
	if err := checkFreq(s, freq); err != nil {
		return err
	}
	s.freq = freq
	return nil
}

func (s *spkr) StartSong(string) error {
	s.start, s.held, s.freq = s.clock.Now(), 0, 0
	return nil
}

func (s *spkr) Hold(ctx context.Context, d time.Duration) error {
	s.held += d
	deadline := s.start.Add(s.held)
	if s.freq == 0 {
		return s.clock.SleepUntil(ctx, deadline)
	}
	hz := int(math.Round(s.freq))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.clock.Now()
		ticks := int((min(deadline.Sub(now), spkrChunk) + spkrTick/2) / spkrTick)
		if ticks <= 0 {
			return nil
		}
		if err := s.dev.tone(hz, ticks); err != nil {
			return fmt.Errorf("beeper: %s: SPKRTONE: %w", s, err)
		}
		// A request that returns at once did not play (the timer was
		// busy): wait its time out rather than spin on the device.
		if s.clock.Now().Sub(now) < time.Duration(ticks)*spkrTick/4 {
			if err := s.clock.SleepUntil(ctx, now.Add(time.Duration(ticks)*spkrTick)); err != nil {
				return err
			}
		}
	}
}

func (s *spkr) FinishSong() (string, error) { return "", nil }

// Close releases the device; nothing sounds outside Hold.
func (s *spkr) Close() error {
	if s.dev == nil {
		return nil
	}
	err := s.dev.Close()
	s.dev = nil
	if err != nil {
		return fmt.Errorf("beeper: %s: close: %w", s, err)
	}
	return nil
}
