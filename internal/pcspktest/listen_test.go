package pcspktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureNotes is the beep command line testdata/beep-boot was recorded
// with: the project's beep, -e /dev/tty0, in the qemu guest.
var fixtureNotes = []beepNote{
	{freq: "392", length: 100, reps: 2, delay: 50},
	{freq: "523.25", length: 120, reps: 1, delay: 60, delayAfterLast: true},
	{freq: "880", length: 100, reps: 1, delay: 0},
}

// recordedBoot is a real boot's console, trace (cut down to the timer and
// speaker lines and every two-thousandth other) and WAV.
func recordedBoot(t *testing.T) *Boot {
	t.Helper()
	dir := filepath.Join("testdata", "beep-boot")
	console, err := os.ReadFile(filepath.Join(dir, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	return &Boot{Console: console, Trace: filepath.Join(dir, "trace.log"), WAV: filepath.Join(dir, "speaker.wav")}
}

// TestListenRecordedBoot runs the host side of a qemu test on a recorded
// boot: what the speaker did must be what beep was asked to play.
func TestListenRecordedBoot(t *testing.T) {
	l, err := Listen(recordedBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	rep := l.Check(beepPlan(t, fixtureNotes), RoundConsole, DefaultLimits())
	t.Log(rep)
	if !rep.OK() || rep.Notes != 4 {
		t.Errorf("the recorded boot does not match its plan: %v", rep)
	}
	// qemu's WAV holds its first sound some 30 ms longer than it sounded.
	if l.Lag < 20*time.Millisecond || l.Lag > 40*time.Millisecond {
		t.Errorf("WAV lag %v, want about 30ms", l.Lag)
	}
	start, ok := l.Event(EventStart, "beep")
	if !ok {
		t.Fatal("no start event for beep")
	}
	started := GuestTime(start.At)
	heard, _ := l.UnderTest()
	if lead := heard[0].Start.Sub(started); lead < 0 || lead > 200*time.Millisecond {
		t.Errorf("beep's first note starts %v after /init started beep, want within 0..200ms", lead)
	}
}

// TestCheckRecordedBootAgainstWrongPlans: the same recording must fail
// plans it does not match.
func TestCheckRecordedBootAgainstWrongPlans(t *testing.T) {
	l, err := Listen(recordedBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		notes []beepNote
		want  string
	}{
		{
			name: "a semitone off",
			notes: []beepNote{
				{freq: "392", length: 100, reps: 2, delay: 50},
				{freq: "554.37", length: 120, reps: 1, delay: 60, delayAfterLast: true},
				{freq: "880", length: 100, reps: 1, delay: 0},
			},
			want: "note 3, trace 523.10 Hz for 554.20 Hz",
		},
		{
			name: "10 ms longer",
			notes: []beepNote{
				{freq: "392", length: 110, reps: 2, delay: 50},
				{freq: "523.25", length: 120, reps: 1, delay: 60, delayAfterLast: true},
				{freq: "880", length: 100, reps: 1, delay: 0},
			},
			want: "note 1, length",
		},
		{
			name: "a repetition short",
			notes: []beepNote{
				{freq: "392", length: 100, reps: 1, delay: 50},
				{freq: "523.25", length: 120, reps: 1, delay: 60, delayAfterLast: true},
				{freq: "880", length: 100, reps: 1, delay: 0},
			},
			want: "heard 4 notes, the plan has 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := l.Check(beepPlan(t, tt.notes), RoundConsole, DefaultLimits())
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tt.want) {
				t.Errorf("problems %q, want one containing %q", rep.Problems, tt.want)
			}
		})
	}
}

func TestListenRefusesAnUnfinishedGuest(t *testing.T) {
	tests := []struct {
		name, console, want string
	}{
		{"no done", "@@KB 1 boot\n@@KB 2 marker-on\n", "never reported the end"},
		{"an error", "@@KB 1 boot\n@@KB 2 error \"\" \"guestinit: no input device named \\\"PC Speaker\\\"\"\n", `no input device named "PC Speaker"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := recordedBoot(t)
			b.Console = []byte(tt.console)
			if _, err := Listen(b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
