package beeper

import (
	"fmt"
	"log/slog"
	"math"
)

// _KIOCSOUND is _IOWINT('K', 63) from sys/sys/kbio.h. On syscons it takes
// the frequency in hertz (not a divisor as on Linux); on vt(4), FreeBSD's
// default console, it does nothing.
//
// There is no safety net like Linux's KDMKTONE: syscons' KDMKTONE rings
// the bell with the console's bell settings and does not stop a KIOCSOUND
// tone, so a process killed mid-tone leaves it sounding until the next
// KIOCSOUND. speaker(4) has no such problem and comes first in auto.
const _KIOCSOUND = 0x20044B3F

const defaultConsole = "/dev/ttyv0"

// syscons' KIOCSOUND sets a 16-bit timer divisor of 1193182/Hz.
var consoleRange = FreqRange{Min: 19, Max: 20000}

// console sounds the speaker with syscons' KIOCSOUND. The tone sounds
// only while the console it is sent to is the one on screen.
type console struct {
	dev    ioctlDevice
	name   string
	closed bool
}

var _ Speaker = (*console)(nil)

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
	return newConsole(dev, path), nil
}

func probeConsole(dev ioctlDevice, path string) error {
	if err := dev.ioctlInt(_KIOCSOUND, 0); err != nil {
		return fmt.Errorf("beeper: console %s: KIOCSOUND refused: %w (use a syscons virtual console such as /dev/ttyv0)", path, err)
	}
	return nil
}

func newConsole(dev ioctlDevice, name string) *console {
	return &console{dev: dev, name: name}
}

func (c *console) String() string   { return "console " + c.name }
func (c *console) Range() FreqRange { return consoleRange }

func (c *console) Tone(freq float64) error {
	if c.closed {
		return fmt.Errorf("beeper: %s: speaker closed", c)
	}
	if err := checkFreq(c, freq); err != nil {
		return err
	}
	if err := c.dev.ioctlInt(_KIOCSOUND, int(math.Round(freq))); err != nil {
		return fmt.Errorf("beeper: %s: KIOCSOUND: %w", c, err)
	}
	return nil
}

func (c *console) Close() error {
	if c.closed {
		return nil
	}
	err := c.Tone(0)
	c.closed = true
	if cerr := c.dev.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("beeper: %s: close: %w", c, cerr)
	}
	return err
}

func openConsoleSpec(path string, log *slog.Logger) (Speaker, error) {
	if path == "" {
		path = defaultConsole
	}
	if vty := consoleDriver(); vty != "sc" {
		log.Warn("beeper: the console is not syscons: KIOCSOUND will succeed and nothing will sound; use speaker(4) (kldload speaker)", "kern.vty", vty)
	}
	c, err := openConsole(path)
	if err != nil {
		return nil, err
	}
	return c, nil
}
