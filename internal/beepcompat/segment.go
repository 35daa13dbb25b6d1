package beepcompat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// Linux console ioctls (linux/kd.h), as strace shows them raw.
const (
	_KIOCSOUND = 0x4B2F // argument: PIT divisor, 0 = off
	_KDMKTONE  = 0x4B30 // argument: (ms << 16) | PIT divisor
)

// pitHz is the PC's timer clock: a console divisor d sounds pitHz/d.
const pitHz = 1193182

// A segment is a stretch of what a speaker does: a tone at a PIT divisor
// for length, or silence (divisor 0).
type segment struct {
	divisor int
	length  time.Duration
	// hz is the whole-hertz frequency the tone was asked for, known when
	// the segment comes from tones rather than from a trace; 0 otherwise.
	hz uint32
}

func (s segment) String() string {
	if s.divisor == 0 {
		return fmt.Sprintf("silence %v", s.length)
	}
	return fmt.Sprintf("divisor %d (%.2f Hz) %v", s.divisor, float64(pitHz)/float64(s.divisor), s.length)
}

// beepHz is the whole-hertz frequency beep 1.4 plays for -f v: it reads a
// C float and adds ½ in float arithmetic, (int)(v + 0.5f), so 0.49999997
// already gives 1.
func beepHz(v float64) uint32 {
	return uint32(int32(float32(v) + 0.5))
}

// beepDivisor is the KIOCSOUND argument of beep 1.4's console driver for
// hz (beep-driver-console.c): CLOCK_TICK_RATE/freq, the frequency and the
// divisor both cut to 16 bits, which is why -f 1 sounds 88 Hz.
func beepDivisor(hz uint32) int {
	f := hz & 0xFFFF
	if f == 0 {
		return 0
	}
	return int(pitHz/f) & 0xFFFF
}

// consolePlays is the frequency the PC speaker makes for a console
// divisor, after Linux's arithmetic: the console turns the divisor into
// whole hertz (pitHz/divisor), and the pcspkr driver, which sounds only
// 21–32766 Hz, divides again. 0 means silence.
func consolePlays(divisor int) float64 {
	if divisor <= 0 {
		return 0
	}
	hz := pitHz / divisor
	if hz <= 20 || hz >= 32767 {
		return 0
	}
	return float64(pitHz) / float64(pitHz/hz)
}

// toneSegments is what beep 1.4's console driver plays for tones: each
// tone at beep's divisor for its frequency, then its delay in silence.
func toneSegments(tones []sequence.Tone) []segment {
	segs := make([]segment, 0, 2*len(tones))
	for _, t := range tones {
		hz := beepHz(t.Freq)
		segs = append(segs, segment{divisor: beepDivisor(hz), length: t.Length, hz: hz})
		segs = append(segs, segment{length: t.Delay})
	}
	return normalize(segs)
}

// normalize drops empty segments and joins neighbours that sound the
// same, so that "on, off for no time, on again", which no ear can tell
// from one tone, compares equal to it.
func normalize(segs []segment) []segment {
	out := segs[:0]
	for _, s := range segs {
		switch {
		case s.length <= 0:
		case len(out) > 0 && out[len(out)-1].divisor == s.divisor:
			out[len(out)-1].length += s.length
		default:
			out = append(out, s)
		}
	}
	return out
}

// speakerDivisor is the divisor a console ioctl sets, and whether the
// call is one that sets it.
func speakerDivisor(c call) (divisor int, ok bool) {
	if c.kind != callIoctl {
		return 0, false
	}
	switch c.request {
	case _KIOCSOUND:
		return int(c.arg & 0xFFFFFFFF), true
	case _KDMKTONE:
		return int(c.arg & 0xFFFF), true
	}
	return 0, false
}

// sleptSegments rebuilds what a program that sleeps between speaker
// calls, as beep 1.4 does, played: each sleep lasts as long as it asked
// for, at the divisor the last speaker call set. Time spent outside
// sleeps counts as nothing, so the result is exact for beep's own
// schedule. The speaker starts silent.
func sleptSegments(calls []call) ([]segment, error) {
	var segs []segment
	divisor := 0
	for _, c := range calls {
		if d, ok := speakerDivisor(c); ok {
			if c.failed {
				return nil, fmt.Errorf("beepcompat: speaker ioctl %#x(%#x) failed", c.request, c.arg)
			}
			divisor = d
			continue
		}
		if c.kind == callSleep {
			if c.failed {
				return nil, fmt.Errorf("beepcompat: a sleep of %v was interrupted", c.sleep)
			}
			segs = append(segs, segment{divisor: divisor, length: c.sleep})
		}
	}
	return normalize(segs), nil
}

// errOffSchedule marks a matchTimed failure that is about timing alone: a
// change in its place, but too early or too late.
var errOffSchedule = errors.New("beepcompat: off schedule")

// A change is the moment the speaker starts a tone (divisor) or falls
// silent (0).
type change struct {
	divisor int
	at      time.Duration
	hz      uint32 // the frequency asked for, when planned from tones
}

// timedChanges lists the moments a program's speaker calls changed what
// sounds, timed from its first speaker call (which opening the console
// makes, silencing it), and the time of its last one, which ends the
// sound. Calls that set what already sounds change nothing.
func timedChanges(calls []call) (changes []change, end time.Duration, err error) {
	var origin time.Duration
	divisor, seen := 0, false
	for _, c := range calls {
		d, ok := speakerDivisor(c)
		if !ok {
			continue
		}
		if c.failed {
			return nil, 0, fmt.Errorf("beepcompat: speaker ioctl %#x(%#x) failed", c.request, c.arg)
		}
		if !seen {
			origin, seen = c.at, true
		}
		end = c.at - origin
		if d != divisor {
			changes = append(changes, change{divisor: d, at: end})
			divisor = d
		}
	}
	if !seen {
		return nil, 0, fmt.Errorf("beepcompat: no speaker call in the trace")
	}
	return changes, end, nil
}

// plannedChanges is when segments change what sounds, played from time
// 0 on a silent speaker that is silenced at the end, and when they end.
func plannedChanges(segs []segment) (changes []change, end time.Duration) {
	divisor := 0
	for _, s := range segs {
		if s.divisor != divisor {
			changes = append(changes, change{divisor: s.divisor, at: end, hz: s.hz})
			divisor = s.divisor
		}
		end += s.length
	}
	if divisor != 0 {
		changes = append(changes, change{at: end})
	}
	return changes, end
}

// matchTimed checks the changes a program made (got, timed from its
// first speaker call, ending at gotEnd) against the plan: the same
// changes in order, each no more than early before and late after its
// planned time, and the end likewise. A divisor may differ from the
// planned one (beep 1.4's) only by one, and only if the speaker then
// sounds nearer the frequency asked for.
//
// While a tone sounds, the program may silence the speaker for less than
// glitch where the plan has no silence at that time, or before the same
// tone goes on, as beep 1.4 itself does for the microseconds it takes to
// start the next tone; such a silence is skipped, and counted. Failures
// of timing alone wrap errOffSchedule.
func matchTimed(want []change, wantEnd time.Duration, got []change, gotEnd time.Duration, early, late, glitch time.Duration) (m timedMatch, err error) {
	check := func(what string, wantAt, gotAt time.Duration) error {
		off := gotAt - wantAt
		m.latest = max(m.latest, off)
		if off < -early || off > late {
			return fmt.Errorf("%w: %s at %v, planned at %v: %v off, want within -%v..+%v", errOffSchedule, what, gotAt, wantAt, off, early, late)
		}
		return nil
	}
	i, sounding := 0, 0
	for j := 0; j < len(got); j++ {
		g := got[j]
		planned := i < len(want) && nearerOrSame(want[i].hz, want[i].divisor, g.divisor)
		onTime := planned && g.at-want[i].at >= -early && g.at-want[i].at <= late
		resumes := j+1 < len(got) && got[j+1].divisor == sounding
		if !onTime && (!planned || resumes) && g.divisor == 0 && sounding != 0 && j+1 < len(got) && got[j+1].at-g.at < glitch {
			m.glitches++
			m.longestGlitch = max(m.longestGlitch, got[j+1].at-g.at)
			if resumes {
				j++ // the same tone again: nothing changed
			}
			continue
		}
		if planned {
			if err := check(fmt.Sprintf("change %d (divisor %d)", j+1, g.divisor), want[i].at, g.at); err != nil {
				return m, err
			}
			i, sounding = i+1, g.divisor
			continue
		}
		if i == len(want) {
			return m, fmt.Errorf("beepcompat: change %d to divisor %d at %v is one more than the %d planned", j+1, g.divisor, g.at, len(want))
		}
		w := want[i]
		return m, fmt.Errorf("beepcompat: change %d sets divisor %d (%.2f Hz) at %v; planned: divisor %d (%.2f Hz, for %d Hz) or one nearer, at %v",
			j+1, g.divisor, consolePlays(g.divisor), g.at, w.divisor, consolePlays(w.divisor), w.hz, w.at)
	}
	if i < len(want) {
		return m, fmt.Errorf("beepcompat: %d changes of the speaker missing, the first to divisor %d at %v", len(want)-i, want[i].divisor, want[i].at)
	}
	return m, check("the end", wantEnd, gotEnd)
}

// timedMatch tells how well a program kept to its plan.
type timedMatch struct {
	latest        time.Duration // the latest change's lateness
	glitches      int           // silences skipped between two tones
	longestGlitch time.Duration
}

// nearerOrSame tells whether divisor got plays hz at least as well as
// beep's divisor: it is beep's, or its neighbour that sounds nearer hz.
func nearerOrSame(hz uint32, beep, got int) bool {
	if got == beep {
		return true
	}
	if hz == 0 || beep == 0 || got == 0 || (got-beep)*(got-beep) != 1 {
		return false
	}
	miss := func(d int) float64 {
		played := consolePlays(d) - float64(hz)
		return max(played, -played)
	}
	return miss(got) < miss(beep)
}

// diffSegments shows where two plays differ in divisor or length, as
// "-want" and "+got" lines with their index (at most maxDiffLines pairs);
// "" when they do not.
func diffSegments(want, got []segment) string {
	const maxDiffLines = 12
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(want), len(got)); i++ {
		w, g := "(none)", "(none)"
		if i < len(want) {
			w = want[i].String()
		}
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) && i < len(got) && want[i].divisor == got[i].divisor && want[i].length == got[i].length {
			continue
		}
		if shown == maxDiffLines {
			fmt.Fprintf(&b, "... (%d and %d segments in all)\n", len(want), len(got))
			break
		}
		shown++
		fmt.Fprintf(&b, "%3d: -%s\n     +%s\n", i+1, w, g)
	}
	return b.String()
}

// A floor is how far off its own schedule a program that is known to
// keep it (beep 1.4, which sleeps exactly what it means to) ran in a
// trace: the noise that the machine, the scheduler and strace added to
// that run. Our beep is judged against the floor of beep 1.4's run on the
// same command line just before its own, under the same load.
type floor struct {
	// late is beep 1.4's worst lateness: how long after its first
	// speaker call, less everything it asked to sleep before, a call came.
	late time.Duration
	// gap is the longest silence beep 1.4 made between two tones without
	// sleeping: the microseconds it takes to start the next tone, or,
	// with -s and -c, to read and echo the next line.
	gap time.Duration
}

// measureFloor reads a floor from the trace of a program that sleeps
// between speaker calls, as beep 1.4 does (see sleptSegments).
func measureFloor(calls []call) (floor, error) {
	var f floor
	var origin, asleep, silenced time.Duration
	// gapOpen: the speaker was silenced after a tone, and no sleep came
	// since.
	seen, sounding, gapOpen := false, false, false
	for _, c := range calls {
		if c.kind == callSleep {
			if seen {
				asleep += c.sleep
			}
			gapOpen = false
			continue
		}
		d, ok := speakerDivisor(c)
		if !ok {
			continue
		}
		if c.failed {
			return floor{}, fmt.Errorf("beepcompat: speaker ioctl %#x(%#x) failed", c.request, c.arg)
		}
		if !seen {
			origin, seen = c.at, true
		}
		f.late = max(f.late, c.at-origin-asleep)
		switch {
		case d == 0 && sounding:
			silenced, gapOpen = c.at, true
		case d != 0 && gapOpen:
			f.gap = max(f.gap, c.at-silenced)
			gapOpen = false
		}
		sounding = d != 0
	}
	if !seen {
		return floor{}, fmt.Errorf("beepcompat: no speaker call in the trace")
	}
	return f, nil
}
