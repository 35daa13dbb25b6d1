package beeper

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/clock"
)

const defaultConsole = "/dev/tty0"

// noToneDevice says what is missing when no input device makes tones.
const noToneDevice = "the kernel has no PC speaker input device (see /sys/class/input): load the driver with modprobe pcspkr"

// silentConsole warns that console ioctls succeed without a tone device.
const silentConsole = "beeper: console: " + noToneDevice + "; until then KIOCSOUND succeeds and nothing sounds"

// autoCandidates on Linux: evdev, then the console, which is skipped when
// no tone device exists because it would then play silence.
func autoCandidates(log *slog.Logger) []candidate {
	return []candidate{
		{kind: "evdev", open: func() (Speaker, error) { return openEvdevSpec("", log) }},
		{kind: "console", open: func() (Speaker, error) {
			if len(hostPaths.toneDevices()) == 0 {
				return nil, errors.New("beeper: console: no PC speaker input device, so KIOCSOUND would succeed and nothing would sound")
			}
			return openConsoleSpec("", log)
		}},
	}
}

// openEvdevSpec opens the evdev speaker at path or, for "", the first
// tone device that opens.
func openEvdevSpec(path string, _ *slog.Logger) (Speaker, error) {
	if path != "" {
		e, err := openEvdev(path)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	if len(hostPaths.toneDevices()) == 0 {
		if _, err := os.Stat(hostPaths.dev + "/" + wellKnownEvdev); err != nil {
			return nil, errors.New("beeper: evdev: " + noToneDevice)
		}
	}
	var errs []string
	for _, p := range hostPaths.evdevPaths() {
		e, err := openEvdev(p)
		if err == nil {
			return e, nil
		}
		errs = append(errs, strings.TrimPrefix(err.Error(), "beeper: "))
	}
	return nil, fmt.Errorf("beeper: evdev: %s", strings.Join(errs, "; "))
}

// openConsoleSpec opens the console speaker, warning when it will be
// silent.
func openConsoleSpec(path string, log *slog.Logger) (Speaker, error) {
	if path == "" {
		path = defaultConsole
	}
	c, err := openConsole(path)
	if err != nil {
		return nil, err
	}
	if len(hostPaths.toneDevices()) == 0 {
		log.Warn(silentConsole)
	}
	return c, nil
}

// openDevice opens path and asks it whether it is an evdev or a console
// device.
func openDevice(path string, log *slog.Logger) (Speaker, error) {
	fd, err := openCharDevice(path)
	if err != nil {
		return nil, err
	}
	evErr := probeEvdev(fd, path)
	if evErr == nil {
		return newEvdev(os.NewFile(uintptr(fd), path), path), nil
	}
	dev := fdDevice{fd: fd, path: path}
	conErr := probeConsole(dev, path)
	if conErr == nil {
		if len(hostPaths.toneDevices()) == 0 {
			log.Warn(silentConsole)
		}
		return newConsole(dev, path, clock.System()), nil
	}
	unix.Close(fd)
	return nil, fmt.Errorf("beeper: %s is neither a speaker input device nor a console: %s; %s", path,
		strings.TrimPrefix(evErr.Error(), "beeper: "), strings.TrimPrefix(conErr.Error(), "beeper: "))
}
