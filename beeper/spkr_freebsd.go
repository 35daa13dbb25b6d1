package beeper

import (
	"fmt"
	"log/slog"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/clock"
)

// _SPKRTONE is _IOW('S', 1, tone_t) from dev/speaker/speaker.h.
const _SPKRTONE = 0x80085301

// toneT is speaker.h's tone_t.
type toneT struct {
	frequency int32 // Hz; 0 rests
	duration  int32 // 1/100 s
}

const defaultSpeakerDevice = "/dev/speaker"

// spkrFD is an open speaker(4) device.
type spkrFD struct{ fd int }

// tone makes one SPKRTONE request. The argument is a pointer to the
// tone_t, which IoctlSetInt cannot pass. An interrupted request is not
// retried: Hold recomputes what is left.
func (d spkrFD) tone(hz, ticks int) error {
	t := toneT{frequency: int32(hz), duration: int32(ticks)}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), _SPKRTONE, uintptr(unsafe.Pointer(&t)))
	if errno != 0 && errno != unix.EINTR {
		return errno
	}
	return nil
}

func (d spkrFD) Close() error { return unix.Close(d.fd) }

// openSpkr opens a speaker(4) device and checks it with a rest of 0.
// speaker(4) allows one open at a time: a second one fails with EBUSY.
func openSpkr(path string) (*spkr, error) {
	fd, err := openCharDevice(path)
	if err != nil {
		return nil, err
	}
	dev := spkrFD{fd: fd}
	if err := probeSpkr(dev, path); err != nil {
		dev.Close()
		return nil, err
	}
	return newSpkr(dev, path, clock.System()), nil
}

func probeSpkr(dev spkrDevice, path string) error {
	if err := dev.tone(0, 0); err != nil {
		return fmt.Errorf("beeper: speaker %s: SPKRTONE refused: %w (not a speaker(4) device?)", path, err)
	}
	return nil
}

func openSpeakerSpec(path string, _ *slog.Logger) (Speaker, error) {
	if path == "" {
		path = defaultSpeakerDevice
	}
	s, err := openSpkr(path)
	if err != nil {
		return nil, err
	}
	return s, nil
}
