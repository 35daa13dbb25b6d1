package beeper

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeSysfs builds /sys/class/input with the given devices: name, snd
// capabilities and event node (or "").
func fakeSysfs(t *testing.T, devs ...[3]string) linuxPaths {
	t.Helper()
	root := t.TempDir()
	for i, d := range devs {
		dir := filepath.Join(root, "sys/class/input", "input"+string(rune('0'+i)))
		must(t, os.MkdirAll(filepath.Join(dir, "capabilities"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "name"), []byte(d[0]+"\n"), 0o644))
		if d[1] != "" {
			must(t, os.WriteFile(filepath.Join(dir, "capabilities/snd"), []byte(d[1]+"\n"), 0o644))
		}
		if d[2] != "" {
			must(t, os.MkdirAll(filepath.Join(dir, d[2]), 0o755))
		}
	}
	return linuxPaths{sys: filepath.Join(root, "sys"), dev: filepath.Join(root, "dev")}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestToneDevices(t *testing.T) {
	tests := []struct {
		name string
		devs [][3]string
		want []string // event paths, relative to dev
	}{
		{
			name: "the PC speaker among keyboards",
			devs: [][3]string{{"AT Translated Set 2 keyboard", "", "event0"}, {"PC Speaker", "6", "event1"}, {"Power Button", "", "event2"}},
			want: []string{"input/event1", wellKnownEvdev},
		},
		{
			name: "the PC speaker first, other beepers after",
			devs: [][3]string{{"HDA Intel PCH Beep", "4", "event4"}, {"PC Speaker", "6", "event5"}},
			want: []string{"input/event5", "input/event4", wellKnownEvdev},
		},
		{
			name: "a bell without tones is no speaker",
			devs: [][3]string{{"Sun bell", "2", "event3"}},
			want: []string{wellKnownEvdev},
		},
		{
			name: "a speaker without the evdev module has no event node",
			devs: [][3]string{{"PC Speaker", "6", ""}},
			want: []string{wellKnownEvdev},
		},
		{
			name: "multi-word bitmap, lowest word last",
			devs: [][3]string{{"odd", "1 0 6", "event7"}},
			want: []string{"input/event7", wellKnownEvdev},
		},
		{
			name: "no input devices at all",
			want: []string{wellKnownEvdev},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakeSysfs(t, tt.devs...)
			var want []string
			for _, w := range tt.want {
				want = append(want, filepath.Join(p.dev, w))
			}
			if got := p.evdevPaths(); !slices.Equal(got, want) {
				t.Errorf("evdevPaths (-want +got):\n-%v\n+%v", want, got)
			}
		})
	}
}

// TestAutoWithoutSpeaker runs the auto chain on a machine with no tone
// device: evdev and the console are passed over with their reasons, and
// the songs go to WAV files.
func TestAutoWithoutSpeaker(t *testing.T) {
	saved := hostPaths
	defer func() { hostPaths = saved }()
	hostPaths = fakeSysfs(t, [3]string{"AT Translated Set 2 keyboard", "", "event0"})

	var logs bytes.Buffer
	dir := filepath.Join(t.TempDir(), "played")
	s, err := Open("auto", Options{WAVDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*wavSpeaker); !ok {
		t.Errorf("auto chose %s, want WAV files in %s", s, dir)
	}
	for _, want := range []string{
		`kind=evdev reason="beeper: evdev: the kernel has no PC speaker input device`,
		`kind=console reason="beeper: console: no PC speaker input device, so KIOCSOUND would succeed and nothing would sound"`,
		`level=WARN msg="beeper: auto: no speaker on this machine, writing WAV files instead" speaker="wav ` + dir,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}

	_, err = Open("auto", Options{})
	if err == nil || !strings.Contains(err.Error(), "beeper: auto: no speaker found (evdev: the kernel has no PC speaker input device (see /sys/class/input): load the driver with modprobe pcspkr; console: no PC speaker") {
		t.Errorf("auto without WAVDir = %v, want an error with each back end's reason", err)
	}
}

func TestOpenNone(t *testing.T) {
	var logs bytes.Buffer
	s, err := Open("none", Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tone(12345); err != nil {
		t.Errorf("none refused a tone: %v", err)
	}
	if !strings.Contains(logs.String(), "nothing will sound") {
		t.Errorf("opening none did not say it plays nothing:\n%s", logs.String())
	}
}
