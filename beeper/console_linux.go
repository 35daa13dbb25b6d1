package beeper

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// Constants from linux/kd.h.
const (
	_KIOCSOUND = 0x4B2F // start a tone: argument 1193182/Hz, 0 = off
	_KDMKTONE  = 0x4B30 // tone with a stop timer: (ms << 16) | 1193182/Hz
)

// The console starts every tone with KDMKTONE and a stop timer of
// consoleSafety, re-armed every consoleRearm while the tone lasts: if the
// process dies mid-tone, the kernel silences the speaker itself soon after.
const (
	consoleSafety = 2 * time.Second
	consoleRearm  = 1 * time.Second
)

// The PC's programmable interval timer (PIT) runs at pitHz; channel 2 drives
// the speaker with a 16-bit divisor of it.
const pitHz = 1193182

// pcspkrRange is what Linux's pcspkr driver sounds: it silences any value
// outside 21–32766 Hz (drivers/input/misc/pcspkr.c), and 1193182/65535 Hz
// is the lowest the 16-bit divisor allows anyway.
var pcspkrRange = FreqRange{Min: 21, Max: 32766}

// pitDivisor is the 16-bit timer divisor to hand KIOCSOUND/KDMKTONE for
// freq. The kernel does not program it as given: it turns it back into
// whole hertz (PIT_TICK_RATE/divisor, rounded down) and pcspkr divides
// again (rounded down). Rounding the divisor to nearest lost up to a whole
// hertz in that round trip (392 Hz played 391.08 Hz in qemu), and rounding
// it down, as beep does, is off by as much at high pitches; so the
// divisors either side are tried through the kernel's arithmetic and the
// one that sounds nearest to freq wins.
func pitDivisor(freq float64) int {
	base := int(pitHz / freq)
	best, bestErr := 0, math.Inf(1)
	for _, d := range [...]int{base, base + 1, base - 1} { // ties go to beep's choice

		if d < 1 || d > 0xFFFF {
			continue
		}
		if e := math.Abs(consoleSounds(d) - freq); e < bestErr {
			best, bestErr = d, e
		}
	}
	if best == 0 {
		return min(max(base, 1), 0xFFFF)
	}
	return best
}

// consoleSounds is the frequency the speaker makes for a KIOCSOUND
// divisor, following Linux's arithmetic (vt_ioctl, then pcspkr_event).
func consoleSounds(divisor int) float64 {
	hz := pitHz / divisor
	if hz == 0 {
		return 0
	}
	return float64(pitHz) / float64(pitHz/hz)
}

// consoleRange is what survives the trip through the console: the kernel
// turns the divisor back into hertz for pcspkr, which sounds 21–32766 Hz,
// and the divisor's rounding takes frequencies above 32248 Hz past that.
var consoleRange = FreqRange{Min: 21, Max: 32000}

// console sounds the speaker through a virtual console's KIOCSOUND and
// KDMKTONE ioctls. It needs CAP_SYS_TTY_CONFIG (root) or to own the
// console, and works on /dev/tty0; /dev/console is often a serial port,
// which refuses them.
type console struct {
	dev   ioctlDevice
	name  string
	clock clock.Clock // re-arms the tone before the kernel's safety timer ends it

	mu        sync.Mutex
	divisor   int         // of the tone sounding, 0 when silent
	tone      int         // counts tones, so a stale re-arm does nothing
	stopTimer func() bool // stops the pending re-arm
	rearmErr  error       // a failed re-arm, reported by the next call
	closed    bool
}

var _ Speaker = (*console)(nil)

// openConsole opens path and checks that it takes KIOCSOUND.
func openConsole(path string) (*console, error) {
	fd, err := openCharDevice(path)
	if err != nil {
		return nil, err
	}
	dev := fdDevice{fd: fd, path: path}
	if err := probeConsole(dev, path); err != nil {
		dev.Close()
		return nil, err
	}
	return newConsole(dev, path, clock.System()), nil
}

func probeConsole(dev ioctlDevice, path string) error {
	if err := dev.ioctlInt(_KIOCSOUND, 0); err != nil {
		return fmt.Errorf("beeper: console %s: KIOCSOUND refused: %w (use a virtual console such as /dev/tty0, as root)", path, err)
	}
	return nil
}

// newConsole returns a console speaker on dev, re-arming the kernel's stop
// timer on clk.
func newConsole(dev ioctlDevice, name string, clk clock.Clock) *console {
	return &console{dev: dev, name: name, clock: clk}
}

func (c *console) String() string { return "console " + c.name }

func (c *console) Range() FreqRange { return consoleRange }

func (c *console) Tone(freq float64) error {
	if err := checkFreq(c, freq); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("beeper: %s: speaker closed", c)
	}
	return c.setLocked(freq)
}

func (c *console) setLocked(freq float64) error {
	if c.stopTimer != nil {
		c.stopTimer()
		c.stopTimer = nil
	}
	c.tone++
	if err := c.rearmErr; err != nil {
		c.rearmErr = nil
		c.dev.ioctlInt(_KIOCSOUND, 0)
		c.divisor = 0
		return err
	}
	if freq == 0 {
		c.divisor = 0
		if err := c.dev.ioctlInt(_KIOCSOUND, 0); err != nil {
			return fmt.Errorf("beeper: %s: KIOCSOUND: %w", c, err)
		}
		return nil
	}
	c.divisor = pitDivisor(freq)
	return c.armLocked()
}

// armLocked (re)starts the current tone with a fresh stop timer and
// schedules the next re-arm.
func (c *console) armLocked() error {
	arg := int(consoleSafety/time.Millisecond)<<16 | c.divisor
	if err := c.dev.ioctlInt(_KDMKTONE, arg); err != nil {
		return fmt.Errorf("beeper: %s: KDMKTONE: %w", c, err)
	}
	tone := c.tone
	c.stopTimer = c.clock.AfterFunc(consoleRearm, func() { c.rearm(tone) }).Stop
	return nil
}

func (c *console) rearm(tone int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.tone != tone || c.divisor == 0 {
		return
	}
	if err := c.armLocked(); err != nil {
		c.rearmErr = err
	}
}

func (c *console) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	err := c.setLocked(0)
	c.closed = true
	if cerr := c.dev.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("beeper: %s: close: %w", c, cerr)
	}
	return err
}
