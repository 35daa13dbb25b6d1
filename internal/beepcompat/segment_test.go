package beepcompat

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

const ms = time.Millisecond

// The divisors are the ones Debian's beep 1.4.9 passed to KIOCSOUND under
// strace for these -f values.
func TestBeepArithmetic(t *testing.T) {
	for _, tt := range []struct {
		name    string
		f       float64
		hz      uint32
		divisor int
	}{
		{"A4", 440, 440, 2711},
		{"rounds half up", 440.6, 441, 2705},
		{"float addition rounds up", 0.49999997, 1, 13534},
		{"below one half is unset", 0.4, 0, 0},
		{"top of the range", 20000, 20000, 59},
		{"a kilohertz", 1000, 1000, 1193},
		{"the divisor wraps", 18, 18, 751},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hz := beepHz(tt.f)
			if hz != tt.hz {
				t.Errorf("beepHz(%v) = %d, want %d", tt.f, hz, tt.hz)
			}
			if d := beepDivisor(hz); d != tt.divisor {
				t.Errorf("beepDivisor(%d) = %d, want %d", hz, d, tt.divisor)
			}
		})
	}
}

func TestConsolePlays(t *testing.T) {
	for _, tt := range []struct {
		divisor int
		want    float64
	}{
		{2711, 440.13},
		{59, 20223.42},
		{60, 19886.37},
		{13534, 88.01}, // beep -f 1
		{0, 0},
		{65535, 0}, // 18 Hz: pcspkr sounds nothing below 21 Hz
		{1, 0},     // 1193182 Hz
	} {
		if got := consolePlays(tt.divisor); math.Abs(got-tt.want) > 0.005 {
			t.Errorf("consolePlays(%d) = %.3f Hz, want %.2f", tt.divisor, got, tt.want)
		}
	}
}

func TestToneSegments(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tones []sequence.Tone
		want  []segment
	}{
		{
			name:  "a tone and its delay",
			tones: []sequence.Tone{{Freq: 440, Length: 30 * ms, Delay: 20 * ms}},
			want:  []segment{{divisor: 2711, length: 30 * ms, hz: 440}, {length: 20 * ms}},
		},
		{
			name:  "one pitch back to back is one tone",
			tones: []sequence.Tone{{Freq: 440, Length: 30 * ms}, {Freq: 440.4, Length: 10 * ms, Delay: 5 * ms}},
			want:  []segment{{divisor: 2711, length: 40 * ms, hz: 440}, {length: 5 * ms}},
		},
		{
			name:  "a leading silence and a tone of no length",
			tones: []sequence.Tone{{Delay: 30 * ms}, {Freq: 500, Delay: 10 * ms}, {Freq: 600, Length: 5 * ms}},
			want:  []segment{{length: 40 * ms}, {divisor: 1988, length: 5 * ms, hz: 600}},
		},
		{name: "nothing", tones: nil, want: []segment{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := toneSegments(tt.tones); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("segments (-want +got):\n  -%v\n  +%v", tt.want, got)
			}
		})
	}
}

// beepTrace is beep 1.4.9 playing
// "-e /dev/tty0 -f 440.6 -l 30 -r 2 -d 20 -n -f 1000 -l 10 -D 5".
const beepTrace = `1795247020.934251 ioctl(0x3, 0x8000451a, 0x7ffd640ad590) = -1 ENOTTY (Inappropriate ioctl for device)
1795247020.934388 ioctl(0x4, 0x4b2f, 0) = 0
1795247020.934463 ioctl(0x4, 0x4b2f, 0xa91) = 0
1795247020.934496 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=30000000}, NULL) = 0
1795247020.964645 ioctl(0x4, 0x4b2f, 0) = 0
1795247020.964713 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=20000000}, NULL) = 0
1795247020.984896 ioctl(0x4, 0x4b2f, 0xa91) = 0
1795247020.984955 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=30000000}, NULL) = 0
1795247021.015140 ioctl(0x4, 0x4b2f, 0) = 0
1795247021.015196 ioctl(0x4, 0x4b2f, 0x4a9) = 0
1795247021.015220 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=10000000}, NULL) = 0
1795247021.025387 ioctl(0x4, 0x4b2f, 0) = 0
1795247021.025449 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=5000000}, NULL) = 0
1795247021.030621 ioctl(0x4, 0x4b2f, 0) = 0
`

// ourTrace is our beep playing the same.
const ourTrace = `15804 1795247024.884214 ioctl(0x5, 0x80044532, 0x30fd41d77e4) = -1 ENOTTY (Inappropriate ioctl for device)
15804 1795247024.884351 ioctl(0x5, 0x4b2f, 0) = 0
15804 1795247024.884851 ioctl(0x5, 0x4b30, 0x7d00a91) = 0
15806 1795247024.915308 ioctl(0x5, 0x4b2f, 0) = 0
15804 1795247024.935803 ioctl(0x5, 0x4b30, 0x7d00a91) = 0
15806 1795247024.965644 ioctl(0x5, 0x4b30, 0x7d004a9) = 0
15808 1795247024.975115 ioctl(0x5, 0x4b2f, 0) = 0
15806 1795247024.980478 ioctl(0x5, 0x4b2f, 0) = 0
`

// beepTraceSegments is what beepTrace plays, and what
// -f 440.6 -l 30 -r 2 -d 20 -n -f 1000 -l 10 -D 5 means.
var beepTraceSegments = []segment{
	{divisor: 2705, length: 30 * ms, hz: 441}, {length: 20 * ms}, {divisor: 2705, length: 30 * ms, hz: 441},
	{divisor: 1193, length: 10 * ms, hz: 1000}, {length: 5 * ms},
}

func TestSleptSegments(t *testing.T) {
	calls, err := parseTrace(beepTrace)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sleptSegments(calls)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSegments(beepTraceSegments, got); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}

	cmd, err := sequence.ParseBeepArgs(strings.Fields("-f 440.6 -l 30 -r 2 -d 20 -n -f 1000 -l 10 -D 5"))
	if err != nil {
		t.Fatal(err)
	}
	if planned := toneSegments(cmd.Tones()); !reflect.DeepEqual(planned, beepTraceSegments) {
		t.Errorf("toneSegments (-want +got):\n  -%v\n  +%v", beepTraceSegments, planned)
	}

	for _, bad := range []string{
		"1.0 ioctl(0x4, 0x4b2f, 0xa91) = -1 EIO (Input/output error)",
		"1.0 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=5}, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
	} {
		calls, err := parseTrace(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sleptSegments(calls); err == nil {
			t.Errorf("sleptSegments(%q) = no error, want one", bad)
		}
	}
}

func TestTimedChanges(t *testing.T) {
	calls, err := parseTrace(ourTrace)
	if err != nil {
		t.Fatal(err)
	}
	changes, end, err := timedChanges(calls)
	if err != nil {
		t.Fatal(err)
	}
	us := time.Microsecond
	want := []change{{2705, 500 * us, 0}, {0, 30957 * us, 0}, {2705, 51452 * us, 0}, {1193, 81293 * us, 0}, {0, 90764 * us, 0}}
	if !reflect.DeepEqual(changes, want) || end != 96127*us {
		t.Errorf("changes (-want +got):\n  -%v, end %v\n  +%v, end %v", want, 96127*us, changes, end)
	}

	plan, planEnd := plannedChanges(beepTraceSegments)
	if m, err := matchTimed(plan, planEnd, changes, end, ourEarly, ourLateCap, ourGlitch); err != nil {
		t.Errorf("our beep's trace does not match the plan: %v", err)
	} else if m.latest != 1452*us {
		t.Errorf("latest change %v late, want 1.452ms (the second 441 Hz tone)", m.latest)
	}

	if _, _, err := timedChanges(nil); err == nil {
		t.Error("timedChanges of no calls: no error, want one")
	}
}

// How far our beep's speaker changes may stray from the plan in the
// parity test.
//
// Early: it plays against absolute deadlines, and the trace's first
// speaker call, the origin, comes before the player reads its start, so
// a change can be early only by the trace's rounding to microseconds. A
// machine's load only ever makes a change late.
//
// Late: no later than beep 1.4 itself was in its run just before, on the
// same command line (floor.late), plus ourSlack; never later than
// ourLateCap, the fixed bound this test had before it measured a floor.
// ourSlack is what our beep does that beep 1.4 does not: the Go runtime
// waits for timers in whole milliseconds (a wait shorter than a
// millisecond is a millisecond: up to 1 ms late at each change), and the
// program starts its player after opening the console, where the origin
// is (0.6–0.9 ms later on a loaded two-core machine at real-time
// priority); a third millisecond is for the traced ioctl's own stop.
const (
	ourEarly   = time.Millisecond
	ourSlack   = 3 * time.Millisecond
	ourLateCap = 30 * time.Millisecond
)

// ourGlitch is the longest silence our beep may make between two tones
// that beep 1.4 plays one after the other beyond beep 1.4's own longest
// such silence in its run just before (floor.gap): between the lines of
// -s, each starts the next play after echoing its line.
const ourGlitch = 2 * time.Millisecond

// ourLimits is how late our beep may be, and how long it may fall silent
// between two tones, after beep 1.4 ran with floor f.
func ourLimits(f floor) (late, glitch time.Duration) {
	return min(f.late+ourSlack, ourLateCap), f.gap + ourGlitch
}

func TestMatchTimed(t *testing.T) {
	us := time.Microsecond
	// 20000 Hz for 10 ms, 5 ms of silence, 440 Hz for 10 ms.
	segs := []segment{{divisor: 59, length: 10 * ms, hz: 20000}, {length: 5 * ms}, {divisor: 2711, length: 10 * ms, hz: 440}}
	plan, planEnd := plannedChanges(segs)
	wantPlan := []change{{59, 0, 20000}, {0, 10 * ms, 0}, {2711, 15 * ms, 440}, {0, 25 * ms, 0}}
	if !reflect.DeepEqual(plan, wantPlan) || planEnd != 25*ms {
		t.Fatalf("plannedChanges (-want +got):\n  -%v, end 25ms\n  +%v, end %v", wantPlan, plan, planEnd)
	}
	for _, tt := range []struct {
		name    string
		got     []change
		end     time.Duration
		wantErr string
		late    bool // the error is about timing alone
	}{
		{name: "on time", got: []change{{59, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 25 * ms},
		{name: "late within bounds", got: []change{{59, 200 * us, 0}, {0, 11 * ms, 0}, {2711, 17 * ms, 0}, {0, 27 * ms, 0}}, end: 27 * ms},
		{name: "a nearer divisor", got: []change{{60, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 25 * ms},
		{
			name: "a farther divisor", wantErr: "change 1 sets divisor 58",
			got: []change{{58, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 25 * ms,
		},
		{
			late: true, name: "too late", wantErr: "change 3 (divisor 2711) at 46ms, planned at 15ms",
			got: []change{{59, 0, 0}, {0, 10 * ms, 0}, {2711, 46 * ms, 0}, {0, 56 * ms, 0}}, end: 56 * ms,
		},
		{
			late: true, name: "early", wantErr: "change 2 (divisor 0) at 8ms, planned at 10ms",
			got: []change{{59, 0, 0}, {0, 8 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 25 * ms,
		},
		{
			name: "a short silence inside a tone", end: 25 * ms,
			got: []change{{59, 0, 0}, {0, 4 * ms, 0}, {59, 4*ms + 100*us, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}},
		},
		{
			name: "a short silence before the planned one", end: 25 * ms,
			got: []change{{59, 0, 0}, {0, 2 * ms, 0}, {59, 3 * ms, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}},
		},
		{
			late: true, name: "a long silence inside a tone", wantErr: "change 2 (divisor 0) at 4ms, planned at 10ms",
			got: []change{{59, 0, 0}, {0, 4 * ms, 0}, {59, 7 * ms, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 25 * ms,
		},
		{
			late: true, name: "a late silence just before the next tone", wantErr: "change 2 (divisor 0) at 14ms, planned at 10ms",
			got: []change{{59, 0, 0}, {0, 14 * ms, 0}, {2711, 14*ms + 100*us, 0}, {0, 25 * ms, 0}}, end: 25 * ms,
		},
		{
			name: "a change missing", wantErr: "1 changes of the speaker missing, the first to divisor 0 at 25ms",
			got: []change{{59, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}}, end: 25 * ms,
		},
		{
			name: "a change too many", wantErr: "one more than the 4 planned",
			got: []change{{59, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}, {2711, 26 * ms, 0}}, end: 26 * ms,
		},
		{
			late: true, name: "ends late", wantErr: "the end at 60ms",
			got: []change{{59, 0, 0}, {0, 10 * ms, 0}, {2711, 15 * ms, 0}, {0, 25 * ms, 0}}, end: 60 * ms,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := matchTimed(plan, planEnd, tt.got, tt.end, ourEarly, 3*ms, ourGlitch)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("matchTimed: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("matchTimed error = %v, want one containing %q", err, tt.wantErr)
			case errors.Is(err, errOffSchedule) != tt.late:
				t.Errorf("matchTimed error %v: errors.Is(err, errOffSchedule) = %v, want %v", err, !tt.late, tt.late)
			}
		})
	}
}

// A planned silence shorter than a glitch is still matched, not skipped.
func TestMatchTimedShortSilence(t *testing.T) {
	us := time.Microsecond
	plan, planEnd := plannedChanges([]segment{{divisor: 59, length: ms, hz: 20000}, {length: ms}, {divisor: 59, length: 500 * us, hz: 20000}})
	got := []change{{59, 0, 0}, {0, 1 * ms, 0}, {59, 2 * ms, 0}, {0, 2500 * us, 0}}
	m, err := matchTimed(plan, planEnd, got, 2500*us, ourEarly, ourLateCap, ourGlitch)
	if err != nil || m.glitches != 0 {
		t.Errorf("matchTimed = %d glitches, error %v; want 0, none", m.glitches, err)
	}
}

func TestMeasureFloor(t *testing.T) {
	us := time.Microsecond
	calls, err := parseTrace(beepTrace)
	if err != nil {
		t.Fatal(err)
	}
	// beepTrace's origin is 1795247020.934388. Its speaker calls come
	// 75 µs, then 257, 508, 752, 808, 999 and 1233 µs after it less the
	// sleeps before them: each sleep's overshoot adds up. Between the
	// 441 Hz and the 1000 Hz tone it is silent for 56 µs without sleeping.
	f, err := measureFloor(calls)
	if err != nil {
		t.Fatal(err)
	}
	if want := (floor{late: 1233 * us, gap: 56 * us}); f != want {
		t.Errorf("measureFloor(beepTrace) = %+v, want %+v", f, want)
	}

	// beep 1.4 with -s: between two lines, the speaker is silenced, the
	// line echoed, and the next tone started, with no sleep between.
	calls, err = parseTrace(`10.000000 ioctl(0x4, 0x4b2f, 0) = 0
10.000100 ioctl(0x4, 0x4b2f, 0x4a9) = 0
10.000150 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=3000000}, NULL) = 0
10.003400 ioctl(0x4, 0x4b2f, 0) = 0
10.003900 ioctl(0x4, 0x4b2f, 0x4a9) = 0
10.003950 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=3000000}, NULL) = 0
10.007000 ioctl(0x4, 0x4b2f, 0) = 0
`)
	if err != nil {
		t.Fatal(err)
	}
	f, err = measureFloor(calls)
	if err != nil {
		t.Fatal(err)
	}
	if want := (floor{late: 1000 * us, gap: 500 * us}); f != want {
		t.Errorf("measureFloor(-s) = %+v, want %+v", f, want)
	}

	if _, err := measureFloor(nil); err == nil {
		t.Error("measureFloor of no calls: no error, want one")
	}
}

// ourLimits follows the floor, up to the cap.
func TestOurLimits(t *testing.T) {
	for _, tt := range []struct {
		f                    floor
		wantLate, wantGlitch time.Duration
	}{
		{floor{}, ourSlack, ourGlitch},
		{floor{late: 4 * ms, gap: ms}, 4*ms + ourSlack, ms + ourGlitch},
		{floor{late: time.Second}, ourLateCap, ourGlitch},
	} {
		if late, glitch := ourLimits(tt.f); late != tt.wantLate || glitch != tt.wantGlitch {
			t.Errorf("ourLimits(%+v) = %v, %v; want %v, %v", tt.f, late, glitch, tt.wantLate, tt.wantGlitch)
		}
	}
}

func TestDiffSegments(t *testing.T) {
	a := []segment{{divisor: 2711, length: 30 * ms}, {length: 20 * ms}}
	if d := diffSegments(a, a); d != "" {
		t.Errorf("diffSegments of equal plays = %q, want \"\"", d)
	}
	b := []segment{{divisor: 2711, length: 31 * ms}}
	want := "  1: -divisor 2711 (440.13 Hz) 30ms\n     +divisor 2711 (440.13 Hz) 31ms\n  2: -silence 20ms\n     +(none)\n"
	if d := diffSegments(a, b); d != want {
		t.Errorf("diffSegments (-want +got):\n  -%q\n  +%q", want, d)
	}
}
