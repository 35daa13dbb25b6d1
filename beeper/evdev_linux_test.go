package beeper

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evdevEvent is a decoded struct input_event, timestamp left out.
type evdevEvent struct {
	Type, Code uint16
	Value      int32
}

func readEvdevEvents(t *testing.T, data []byte) []evdevEvent {
	t.Helper()
	if len(data)%int(evdevEventSize) != 0 {
		t.Fatalf("%d bytes written: not whole %d-byte input events", len(data), evdevEventSize)
	}
	var evs []evdevEvent
	for off := 0; off < len(data); off += int(evdevEventSize) {
		ev := data[off : off+int(evdevEventSize)]
		if !bytes.Equal(ev[:evdevEventSize-8], make([]byte, evdevEventSize-8)) {
			t.Errorf("event %d has a timestamp %x; the kernel sets it", off/int(evdevEventSize), ev[:evdevEventSize-8])
		}
		tail := ev[evdevEventSize-8:]
		evs = append(evs, evdevEvent{
			Type:  binary.NativeEndian.Uint16(tail),
			Code:  binary.NativeEndian.Uint16(tail[2:]),
			Value: int32(binary.NativeEndian.Uint32(tail[4:])),
		})
	}
	return evs
}

// TestEvdevEvents writes through newEvdev into a regular file standing in
// for the event node and decodes what the kernel would get.
func TestEvdevEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEvdev(f, path)
	for _, freq := range []float64{440, 311.13, 0, 32766, 21} {
		if err := e.Tone(freq); err != nil {
			t.Fatalf("Tone(%g): %v", freq, err)
		}
	}
	if err := e.Tone(20); !errors.Is(err, ErrFrequency) {
		t.Errorf("Tone(20) = %v, want ErrFrequency: pcspkr does not sound it", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's numbers, written out so that a wrong constant in the
	// code cannot hide: EV_SND 0x12, SND_TONE 0x02 (linux/input-event-codes.h).
	tone := func(hz int32) evdevEvent { return evdevEvent{Type: 0x12, Code: 0x02, Value: hz} }
	want := []evdevEvent{tone(440), tone(311), tone(0), tone(32766), tone(21), tone(0)}
	got := readEvdevEvents(t, data)
	if len(got) != len(want) {
		t.Fatalf("events (-want +got):\n-%v\n+%v", want, got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d (-want +got):\n-%+v\n+%+v", i, want[i], got[i])
		}
	}
	if evdevEventSize == 24 && len(data) != 24*len(want) {
		t.Errorf("wrote %d bytes, want 24 per event on 64-bit", len(data))
	}
}

// TestOpenRefusesNonDevices checks every device opener against what is
// not a speaker: a regular file (also behind a symlink, CVE-2018-1000532),
// a directory, and /dev/null, a character device that takes no speaker
// ioctls.
func TestOpenRefusesNonDevices(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	// devNull is what each opener says of /dev/null, which opens but
	// answers no speaker ioctl.
	openers := []struct {
		name    string
		open    func(path string) error
		devNull string
	}{
		{"evdev", func(p string) error { _, err := openEvdev(p); return err }, "not an input event device (EVIOCGBIT: inappropriate ioctl"},
		{"console", func(p string) error { _, err := openConsole(p); return err }, "KIOCSOUND refused: inappropriate ioctl"},
		{"OpenDevice", func(p string) error { _, err := OpenDevice(p, Options{}); return err }, "neither a speaker input device nor a console"},
		{"evdev spec", func(p string) error { _, err := Open("evdev:"+p, Options{}); return err }, "not an input event device"},
		{"console spec", func(p string) error { _, err := Open("console:"+p, Options{}); return err }, "KIOCSOUND refused"},
	}
	paths := []struct {
		path, want string
	}{
		{file, "is not a character device"},
		{link, "is not a character device"},
		{filepath.Join(dir, "missing"), "no such file or directory (no such device: is the speaker driver loaded?"},
		{"/dev/null", ""},
	}
	for _, o := range openers {
		for _, p := range paths {
			t.Run(o.name+" "+filepath.Base(p.path), func(t *testing.T) {
				want := p.want
				if want == "" {
					want = o.devNull
				}
				err := o.open(p.path)
				if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "beeper: ") {
					t.Errorf("open %s = %v, want an error containing %q", p.path, err, want)
				}
			})
		}
	}
	if data, _ := os.ReadFile(file); string(data) != "precious" {
		t.Errorf("the regular file was written to: %q", data)
	}
}

func TestOpenDeviceNamesBothInterfaces(t *testing.T) {
	_, err := OpenDevice("/dev/null", Options{})
	if err == nil || !strings.Contains(err.Error(), "neither a speaker input device nor a console") ||
		!strings.Contains(err.Error(), "EVIOCGBIT") || !strings.Contains(err.Error(), "KIOCSOUND") {
		t.Errorf("OpenDevice(/dev/null) = %v, want an error saying both probes failed", err)
	}
}

// TestOpenDeviceConsole opens /dev/tty0 the way beep -e does.
func TestOpenDeviceConsole(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: console ioctls need CAP_SYS_TTY_CONFIG")
	}
	if _, err := os.Stat(defaultConsole); err != nil {
		t.Skipf("needs %s: %v", defaultConsole, err)
	}
	var logs bytes.Buffer
	s, err := OpenDevice(defaultConsole, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*console); !ok {
		t.Errorf("OpenDevice(%s) = %s, want the console", defaultConsole, s)
	}
	if len(hostPaths.toneDevices()) == 0 && !strings.Contains(logs.String(), "no PC speaker input device") {
		t.Errorf("no tone device here, and no warning that nothing will sound:\n%s", logs.String())
	}
}
