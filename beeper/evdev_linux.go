package beeper

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Constants x/sys/unix lacks (it has EV_SND, the event type).
const (
	_SND_TONE = 0x02 // linux/input-event-codes.h
	// EVIOCGBIT(EV_SND, 4) = _IOC(_IOC_READ, 'E', 0x20 + EV_SND, 4): the
	// first 4 bytes of the device's sound capability bits. linux/input.h
	_EVIOCGBIT_EV_SND_4 = 0x80044532
)

// evdevEventSize is sizeof(struct input_event): a struct timeval of two
// longs, then u16 type, u16 code and s32 value; 24 bytes on 64-bit.
const evdevEventSize = 2*unsafe.Sizeof(uintptr(0)) + 8

// evdev sounds the speaker by writing EV_SND/SND_TONE events to its input
// event device, the way beep 1.4 does. It needs write access to the event
// node only, which a udev rule can grant to a group.
type evdev struct {
	w      io.WriteCloser
	name   string
	closed bool
}

var _ Speaker = (*evdev)(nil)

// openEvdev opens path and checks that it is an input event device that
// can make tones.
func openEvdev(path string) (*evdev, error) {
	fd, err := openCharDevice(path)
	if err != nil {
		return nil, err
	}
	if err := probeEvdev(fd, path); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return newEvdev(os.NewFile(uintptr(fd), path), path), nil
}

// probeEvdev checks that fd is an input device with SND_TONE.
func probeEvdev(fd int, path string) error {
	var bits uint32
	err := ignoringEINTR(func() (err error) {
		bits, err = unix.IoctlGetUint32(fd, _EVIOCGBIT_EV_SND_4)
		return err
	})
	if err != nil {
		return fmt.Errorf("beeper: evdev %s: not an input event device (EVIOCGBIT: %w)", path, err)
	}
	if bits&(1<<_SND_TONE) == 0 {
		return fmt.Errorf("beeper: evdev %s: this input device cannot make tones (no SND_TONE)", path)
	}
	return nil
}

// newEvdev returns an evdev speaker writing events to w.
func newEvdev(w io.WriteCloser, name string) *evdev {
	return &evdev{w: w, name: name}
}

func (e *evdev) String() string { return "evdev " + e.name }

func (e *evdev) Range() FreqRange { return pcspkrRange }

func (e *evdev) Tone(freq float64) error {
	if e.closed {
		return fmt.Errorf("beeper: %s: speaker closed", e)
	}
	if err := checkFreq(e, freq); err != nil {
		return err
	}
	var ev [evdevEventSize]byte
	tv := evdevEventSize - 8 // the timestamp stays zero: the kernel sets it
	binary.NativeEndian.PutUint16(ev[tv:], unix.EV_SND)
	binary.NativeEndian.PutUint16(ev[tv+2:], _SND_TONE)
	binary.NativeEndian.PutUint32(ev[tv+4:], uint32(int32(math.Round(freq))))
	if _, err := e.w.Write(ev[:]); err != nil {
		return fmt.Errorf("beeper: evdev: %w", err)
	}
	return nil
}

func (e *evdev) Close() error {
	if e.closed {
		return nil
	}
	err := e.Tone(0)
	e.closed = true
	if cerr := e.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("beeper: evdev: %w", cerr)
	}
	return err
}
