//go:build linux || freebsd

package beeper

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// openCharDevice opens path for writing and makes sure, on the open file
// itself, that it is a character device: checking the path first and
// opening it after would let a symlink swap in between (beep's
// CVE-2018-1000532 let --device write to any file). O_NOCTTY keeps a
// terminal from becoming our controlling terminal.
func openCharDevice(path string) (int, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("beeper: open %s: %w%s", path, err, openHint(err))
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("beeper: fstat %s: %w", path, err)
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFCHR {
		unix.Close(fd)
		return -1, fmt.Errorf("beeper: %s is not a character device: a speaker device is one, and nothing else is written to", path)
	}
	return fd, nil
}

// openHint says what to do about a failed open.
func openHint(err error) string {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return " (no such device: is the speaker driver loaded? Linux: modprobe pcspkr; FreeBSD: kldload speaker)"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return " (permission denied: run as root, or give the user write access to the device with a udev or devfs rule)"
	case errors.Is(err, unix.EBUSY):
		return " (busy: speaker(4) allows one open at a time; another program has it open)"
	}
	return ""
}

// ignoringEINTR retries f while a signal interrupts it.
func ignoringEINTR(f func() error) error {
	for {
		err := f()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// fdDevice is an open device: ioctls on it, and closing it.
type fdDevice struct {
	fd   int
	path string
}

func (d fdDevice) ioctlInt(req uint, value int) error {
	return ignoringEINTR(func() error { return unix.IoctlSetInt(d.fd, req, value) })
}

func (d fdDevice) Close() error { return unix.Close(d.fd) }

// ioctlDevice is what the console back ends need of a device; tests hand
// them a fake that records the calls.
type ioctlDevice interface {
	ioctlInt(req uint, value int) error
	Close() error
}
