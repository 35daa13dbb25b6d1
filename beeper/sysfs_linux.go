package beeper

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A toneDevice is an input device the kernel can make tones on: the PC
// speaker (pcspkr, "PC Speaker") or another beeper with SND_TONE, such as
// some HD-audio codecs' "PC Beep". KIOCSOUND on the console reaches these
// devices only: with none, it succeeds and nothing sounds.
type toneDevice struct {
	name  string // the device's name, e.g. "PC Speaker"
	input string // its sysfs node, e.g. "input5"
	event string // its event node, e.g. "event3"; "" without the evdev module
}

// linuxPaths are the roots of sysfs and /dev; tests point them at a fake
// tree.
type linuxPaths struct {
	sys, dev string
}

var hostPaths = linuxPaths{sys: "/sys", dev: "/dev"}

// wellKnownEvdev is the PC speaker's stable event node name, made by
// udev; beep 1.4 looks only there.
const wellKnownEvdev = "input/by-path/platform-pcspkr-event-spkr"

// toneDevices lists the input devices with SND_TONE, "PC Speaker" first.
func (p linuxPaths) toneDevices() []toneDevice {
	dirs, _ := filepath.Glob(filepath.Join(p.sys, "class/input/input*"))
	var devs []toneDevice
	for _, dir := range dirs {
		if !hasToneBit(readTrimmed(filepath.Join(dir, "capabilities/snd"))) {
			continue
		}
		d := toneDevice{name: readTrimmed(filepath.Join(dir, "name")), input: filepath.Base(dir)}
		if events, _ := filepath.Glob(filepath.Join(dir, "event*")); len(events) > 0 {
			d.event = filepath.Base(events[0])
		}
		devs = append(devs, d)
	}
	slices.SortStableFunc(devs, func(a, b toneDevice) int {
		return boolRank(b.name == "PC Speaker") - boolRank(a.name == "PC Speaker")
	})
	return devs
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func readTrimmed(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// hasToneBit reads a sysfs capability bitmap, hexadecimal words with the
// lowest last ("6" for the PC speaker: SND_BELL and SND_TONE), and reports
// whether SND_TONE is set.
func hasToneBit(bitmap string) bool {
	words := strings.Fields(bitmap)
	if len(words) == 0 {
		return false
	}
	low, err := strconv.ParseUint(words[len(words)-1], 16, 64)
	return err == nil && low&(1<<_SND_TONE) != 0
}

// evdevPaths lists the event nodes to try for the speaker, best first: the
// tone devices sysfs knows, then udev's well-known name for pcspkr.
func (p linuxPaths) evdevPaths() []string {
	var paths []string
	for _, d := range p.toneDevices() {
		if d.event != "" {
			paths = append(paths, filepath.Join(p.dev, "input", d.event))
		}
	}
	return append(paths, filepath.Join(p.dev, wellKnownEvdev))
}
