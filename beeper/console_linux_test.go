package beeper

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/clock/clocktest"
)

// fakeIoctl records ioctls; it fails those whose request is in fail.
type fakeIoctl struct {
	calls  []string
	fail   map[uint]error
	closed bool
}

func (f *fakeIoctl) ioctlInt(req uint, value int) error {
	name := map[uint]string{_KIOCSOUND: "KIOCSOUND", _KDMKTONE: "KDMKTONE"}[req]
	if req == _KDMKTONE {
		f.calls = append(f.calls, fmt.Sprintf("%s %dms/%d", name, value>>16, value&0xFFFF))
	} else {
		f.calls = append(f.calls, fmt.Sprintf("%s %d", name, value))
	}
	return f.fail[req]
}

func (f *fakeIoctl) Close() error { f.closed = true; return nil }

// rearmDue moves clk to the console's next re-arm, which fires it.
func rearmDue(clk *clocktest.Fake) { clk.Advance(consoleRearm) }

func TestConsoleIoctls(t *testing.T) {
	tests := []struct {
		name string
		play func(c *console, clk *clocktest.Fake) error
		want []string
	}{
		{
			name: "a tone is KDMKTONE with the safety timer and the PIT divisor",
			play: func(c *console, _ *clocktest.Fake) error { return c.Tone(440) },
			want: []string{"KDMKTONE 2000ms/2711"},
		},
		{
			name: "silence is KIOCSOUND 0",
			play: func(c *console, _ *clocktest.Fake) error {
				c.Tone(3000)
				return c.Tone(0)
			},
			want: []string{"KDMKTONE 2000ms/398", "KIOCSOUND 0"},
		},
		{
			name: "a long tone is re-armed before the safety timer runs out",
			play: func(c *console, clk *clocktest.Fake) error {
				c.Tone(21)
				rearmDue(clk)
				rearmDue(clk)
				return nil
			},
			want: []string{"KDMKTONE 2000ms/56818", "KDMKTONE 2000ms/56818", "KDMKTONE 2000ms/56818"},
		},
		{
			name: "a re-arm that fires after the tone changed does nothing",
			// As when the timer fires just as the tone changes, too late
			// for Stop.
			play: func(c *console, _ *clocktest.Fake) error {
				c.Tone(440)
				stale := c.tone
				c.Tone(0)
				c.rearm(stale)
				return nil
			},
			want: []string{"KDMKTONE 2000ms/2711", "KIOCSOUND 0"},
		},
		{
			name: "Close silences",
			play: func(c *console, _ *clocktest.Fake) error {
				c.Tone(440)
				return c.Close()
			},
			want: []string{"KDMKTONE 2000ms/2711", "KIOCSOUND 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, clk := &fakeIoctl{}, clocktest.NewFake(time.Unix(1e9, 0))
			c := newConsole(dev, "fake", clk)
			if err := tt.play(c, clk); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(dev.calls, "\n"); got != strings.Join(tt.want, "\n") {
				t.Errorf("ioctls (-want +got):\n-%s\n+%s", strings.Join(tt.want, "\n-"), strings.Join(dev.calls, "\n+"))
			}
		})
	}
}

func TestConsoleRearmFailureIsReported(t *testing.T) {
	dev, clk := &fakeIoctl{}, clocktest.NewFake(time.Unix(1e9, 0))
	c := newConsole(dev, "fake", clk)
	if err := c.Tone(440); err != nil {
		t.Fatal(err)
	}
	dev.fail = map[uint]error{_KDMKTONE: unix.EIO}
	rearmDue(clk)
	dev.fail = nil
	if err := c.Tone(880); !errors.Is(err, unix.EIO) {
		t.Errorf("Tone after a failed re-arm = %v, want EIO", err)
	}
	if last := dev.calls[len(dev.calls)-1]; last != "KIOCSOUND 0" {
		t.Errorf("after a failed re-arm the last ioctl is %q, want the speaker silenced", last)
	}
}

func TestConsoleCloseSilencesAfterError(t *testing.T) {
	dev := &fakeIoctl{fail: map[uint]error{_KDMKTONE: unix.EIO}}
	c := newConsole(dev, "fake", clocktest.NewFake(time.Unix(1e9, 0)))
	if err := c.Tone(440); !errors.Is(err, unix.EIO) {
		t.Errorf("Tone = %v, want EIO", err)
	}
	c.Close()
	if last := dev.calls[len(dev.calls)-1]; last != "KIOCSOUND 0" || !dev.closed {
		t.Errorf("Close: last ioctl %q, closed %v; want KIOCSOUND 0 and the device closed", last, dev.closed)
	}
	if err := c.Tone(440); err == nil {
		t.Error("Tone after Close succeeded")
	}
}

func TestConsoleRefusesOutOfRange(t *testing.T) {
	dev := &fakeIoctl{}
	c := newConsole(dev, "fake", clocktest.NewFake(time.Unix(1e9, 0)))
	for _, f := range []float64{1, 20, 33000} {
		if err := c.Tone(f); !errors.Is(err, ErrFrequency) {
			t.Errorf("Tone(%g) = %v, want ErrFrequency", f, err)
		}
	}
	if len(dev.calls) != 0 {
		t.Errorf("refused tones made ioctls: %v", dev.calls)
	}
}

// TestConsoleRealDevice drives the real KIOCSOUND and KDMKTONE on
// /dev/tty0. Without a speaker driver they succeed silently, so this
// proves the system calls, not the sound (the qemu tests do that).
func TestConsoleRealDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: console ioctls need CAP_SYS_TTY_CONFIG")
	}
	if _, err := os.Stat(defaultConsole); err != nil {
		t.Skipf("needs %s: %v", defaultConsole, err)
	}
	c, err := openConsole(defaultConsole)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{440, 21, 32000, 0} {
		if err := c.Tone(f); err != nil {
			t.Errorf("Tone(%g): %v", f, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

// TestConsoleDivisorSoundsNearest checks the divisor against the kernel's
// round trip through whole hertz: every whole frequency from 21 Hz to
// 4 kHz sounds within the 0.3 % that the qemu tier allows (a fraction of a
// hertz cannot survive the kernel's whole hertz at low pitches), and no
// frequency up to 20 kHz sounds further off than with the divisor rounded
// down (beep) or to nearest.
func TestConsoleDivisorSoundsNearest(t *testing.T) {
	for f := 21.0; f <= 20000; f += 0.5 {
		got := consoleSounds(pitDivisor(f))
		errGot := math.Abs(got-f) / f
		if f <= 4000 && f == math.Trunc(f) && errGot > 0.003 {
			t.Errorf("%v Hz sounds %.3f Hz: %.3f %% off, want at most 0.3 %%", f, got, errGot*100)
		}
		for name, d := range map[string]int{"rounded down": int(pitHz / f), "rounded to nearest": int(math.Round(pitHz / f))} {
			if e := math.Abs(consoleSounds(d)-f) / f; errGot > e+1e-12 {
				t.Errorf("%v Hz sounds %.3f Hz, further off than the divisor %s (%.3f Hz)", f, got, name, consoleSounds(d))
			}
		}
	}
}
