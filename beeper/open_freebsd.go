package beeper

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/clock"
)

// consoleDriver is the console driver: "sc" for syscons, "vt" for vt(4).
func consoleDriver() string {
	vty, err := unix.Sysctl("kern.vty")
	if err != nil {
		return "unknown"
	}
	return vty
}

// autoCandidates on FreeBSD: speaker(4), then the console, which is
// skipped on vt(4) because KIOCSOUND does nothing there.
func autoCandidates(log *slog.Logger) []candidate {
	return []candidate{
		{kind: "speaker", open: func() (Speaker, error) { return openSpeakerSpec("", log) }},
		{kind: "console", open: func() (Speaker, error) {
			if vty := consoleDriver(); vty != "sc" {
				return nil, errors.New("beeper: the console driver is " + vty + ", not syscons: KIOCSOUND would succeed and nothing would sound")
			}
			return openConsoleSpec("", log)
		}},
	}
}

// openDevice opens path and asks it whether it is speaker(4) or a
// console.
func openDevice(path string, _ *slog.Logger) (Speaker, error) {
	fd, err := openCharDevice(path)
	if err != nil {
		return nil, err
	}
	spErr := probeSpkr(spkrFD{fd: fd}, path)
	if spErr == nil {
		return newSpkr(spkrFD{fd: fd}, path, clock.System()), nil
	}
	dev := fdDevice{fd: fd, path: path}
	conErr := probeConsole(dev, path)
	if conErr == nil {
		return newConsole(dev, path), nil
	}
	unix.Close(fd)
	return nil, fmt.Errorf("beeper: %s is neither a speaker(4) device nor a console: %s; %s", path,
		strings.TrimPrefix(spErr.Error(), "beeper: "), strings.TrimPrefix(conErr.Error(), "beeper: "))
}
