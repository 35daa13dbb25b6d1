package pcspktest

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// The fault-injection tests prove that the tier's checks bite: a capture
// that passed its plan is changed the way a faulty player would have
// changed it — in the guest kernel's trace of the speaker driver, in qemu's
// port trace and in the WAV alike — and run through the same Listen and
// Check as the real tests. Each fault must fail the check with the problem
// it is about. They run on the recorded boot (TestFaultsRecordedBoot) and
// on the capture of a live boot (TestQemuBeepCLI).

// A fault turns a capture of plan into one with a fault at note, the
// index in the capture's sounds of a note under test with silence before
// and after it.
type fault struct {
	name   string
	inject func(t *testing.T, c *Capture, note int)
	// want is what the tier must say: a problem Check reports or the
	// error Listen refuses the capture with, any one of them; %d stands
	// for the note's place under test (counted from 1), %p for the place
	// before it, %c for the count of notes under test less one.
	want []string
}

// faultLate is how late the late note comes: well past the ±5 ms limit.
const faultLate = 20 * time.Millisecond

var faults = []fault{
	{
		name: "a note 20 ms late",
		inject: func(t *testing.T, c *Capture, note int) {
			_, kb, _ := SpeakerSounds(c.Kernel)
			// Every driver event from the note's start to the next
			// sound's: the note and its silence after move together.
			for i := kb[note][0]; i < kb[note+1][0]; i++ {
				if c.Kernel[i].Name == SpeakerEvent {
					c.Kernel[i].At += faultLate
				}
			}
		},
		want: []string{"note %p, silence after"},
	},
	{
		name:   "a wrong pitch (a semitone up), in the traces and the WAV",
		inject: func(t *testing.T, c *Capture, note int) { wrongPitch(t, c, note, true, true) },
		want:   []string{"note %d, trace"},
	},
	// The two frequency checks, each on its own. A count the traces have
	// but the WAV does not can also throw LocateSounds's placement by
	// pitch off, where the note is one of a run at one count: then the
	// WAV's lengths disagree with the guest's clock, and Listen says so.
	{
		name:   "a wrong pitch in the traces only",
		inject: func(t *testing.T, c *Capture, note int) { wrongPitch(t, c, note, true, false) },
		want:   []string{"note %d, trace", "the WAV and the guest kernel's trace disagree"},
	},
	{
		name:   "a wrong pitch in the WAV only",
		inject: func(t *testing.T, c *Capture, note int) { wrongPitch(t, c, note, false, true) },
		want:   []string{"note %d, WAV"},
	},
	{
		name: "a dropped note",
		inject: func(t *testing.T, c *Capture, note int) {
			sounds, kb, _ := SpeakerSounds(c.Kernel)
			_, pb, _ := replayPorts(c.Writes)
			spans, _ := LocateSounds(c.WAV, sounds)
			c.Kernel = deleteIndexes(c.Kernel, kb[note][0], kb[note][1])
			c.Writes = deleteIndexes(c.Writes, pb[note][0], pb[note][1])
			c.WAV.Samples = slices.Delete(c.WAV.Samples, spans[note].From, spans[note].To)
		},
		want: []string{"heard %c notes, the plan has"},
	},
	{
		// The note sounds on until /init's closing marker takes over the
		// speaker; in the WAV its wave goes on for as long.
		name: "a player that leaves its last note on",
		inject: func(t *testing.T, c *Capture, _ int) {
			sounds, kb, _ := SpeakerSounds(c.Kernel)
			_, pb, _ := replayPorts(c.Writes)
			spans, _ := LocateSounds(c.WAV, sounds)
			last := len(kb) - 2 // the last note before the closing marker
			c.Kernel = silenceRemoved(c.Kernel, kb[last][1], kb[last+1][0])
			c.Writes = deleteIndexes(c.Writes, pb[last][1])
			// Whole periods of the recorded note, as many as fill the
			// silence that was after it.
			period := int(math.Round(float64(sounds[last].Divisor) / PITHz * float64(c.WAV.Rate)))
			wave := c.WAV.Samples[spans[last].From : spans[last].From+period*((spans[last].To-spans[last].From)/period)]
			gap := int(sounds[last+1].Start.Sub(sounds[last].End).Seconds() * float64(c.WAV.Rate))
			var more []int16
			for len(more) < gap {
				more = append(more, wave...)
			}
			c.WAV.Samples = slices.Insert(c.WAV.Samples, spans[last].To, more[:gap]...)
		},
		want: []string{"length"},
	},
	{
		// The last sound is never silenced: neither by its call nor by
		// the kernel's own writes to the speaker gate as it powers off.
		name: "the speaker left on at the end",
		inject: func(t *testing.T, c *Capture, _ int) {
			_, kb, _ := SpeakerSounds(c.Kernel)
			_, pb, _ := replayPorts(c.Writes)
			last := len(kb) - 1
			c.Kernel = silenceRemoved(c.Kernel, kb[last][1], len(c.Kernel))
			writes := slices.Clone(c.Writes[:pb[last][1]])
			for _, w := range c.Writes[pb[last][1]:] {
				if w.Port != portSpeaker {
					writes = append(writes, w)
				}
			}
			c.Writes = writes
		},
		want: []string{"the speaker was still on when the trace ended"},
	},
}

// wrongPitch makes the note a semitone higher: in the driver's call and
// the count qemu saw loaded (traces), and in the recording (wav), where
// the note's span becomes the chip's square wave at the new count, at the
// levels the recording has there.
func wrongPitch(t *testing.T, c *Capture, note int, traces, wav bool) {
	t.Helper()
	sounds, kb, _ := SpeakerSounds(c.Kernel)
	_, pb, _ := replayPorts(c.Writes)
	hz := math.Round(sounds[note].Freq() * math.Pow(2, 1.0/12))
	count := uint32(PITHz / hz)
	if wav {
		spans, _ := LocateSounds(c.WAV, sounds)
		span := c.WAV.Samples[spans[note].From:spans[note].To]
		lo, hi := slices.Min(span), slices.Max(span)
		period := float64(count) / PITHz * float64(c.WAV.Rate)
		for i := range span {
			if math.Mod(float64(i), period) < period/2 {
				span[i] = hi
			} else {
				span[i] = lo
			}
		}
	}
	if !traces {
		return
	}
	e := c.Kernel[kb[note][0]]
	e.Args = map[string]string{"type": e.Args["type"], "code": e.Args["code"], "value": strconv.Itoa(int(hz))}
	c.Kernel[kb[note][0]] = e
	// The count's two bytes are the last two writes to channel 2 at or
	// before the write that turned the note on.
	low, high := -1, -1
	for i := pb[note][0]; i >= 0 && low < 0; i-- {
		if c.Writes[i].Port != portPIT2 {
			continue
		}
		if high < 0 {
			high = i
		} else {
			low = i
		}
	}
	if low < 0 {
		t.Fatalf("no count loaded before sound %d in the port trace", note)
	}
	c.Writes[low].Value, c.Writes[high].Value = uint8(count), uint8(count>>8)
}

// silenceRemoved drops the speaker driver's events in events[from:to]:
// the call that silenced a sound and the bell of 0 the console sends
// with it.
func silenceRemoved(events []KernelEvent, from, to int) []KernelEvent {
	out := slices.Clone(events[:from])
	for _, e := range events[from:to] {
		if e.Name != SpeakerEvent {
			out = append(out, e)
		}
	}
	return append(out, events[to:]...)
}

// deleteIndexes returns s without the elements at the given indexes.
func deleteIndexes[T any](s []T, indexes ...int) []T {
	var out []T
	for i, v := range s {
		if !slices.Contains(indexes, i) {
			out = append(out, v)
		}
	}
	return out
}

// clone copies a capture deeply enough for a fault to change it.
func (c *Capture) clone() *Capture {
	return &Capture{
		Events: slices.Clone(c.Events),
		Kernel: slices.Clone(c.Kernel),
		Writes: slices.Clone(c.Writes),
		WAV:    Recording{Rate: c.WAV.Rate, Samples: slices.Clone(c.WAV.Samples)},
	}
}

// checkFaults injects each fault into c, a capture that matches plan, and
// checks that Listen and Check, as the real tests run them, fail it with
// the problem the fault is about.
func checkFaults(t *testing.T, c *Capture, plan []sequence.Tone, r Rounding) {
	t.Helper()
	clean, err := c.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if rep := clean.Check(plan, r, DefaultLimits()); !rep.OK() {
		t.Fatalf("the capture does not match its plan before any fault: %v", rep)
	}
	heard, err := clean.UnderTest()
	if err != nil {
		t.Fatal(err)
	}
	opening := len(clean.Heard) - len(heard) - 2 // the closing marker follows what is under test
	// The first note under test after the first with silence before and
	// after it.
	place := -1
	for i := 1; i < len(heard) && place < 0; i++ {
		if heard[i-1].Gap > 0 && heard[i].Gap > 0 {
			place = i
		}
	}
	if place < 0 {
		t.Fatal("no note under test has silence before and after it")
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			faulty := c.clone()
			f.inject(t, faulty, opening+1+place)
			places := strings.NewReplacer("%d", strconv.Itoa(place+1), "%p", strconv.Itoa(place), "%c", strconv.Itoa(len(heard)-1))
			var said []string
			if l, err := faulty.Listen(); err != nil {
				t.Logf("%s: Listen refused the capture: %v", f.name, err)
				said = []string{err.Error()}
			} else {
				rep := l.Check(plan, r, DefaultLimits())
				t.Logf("%s: %v", f.name, rep)
				if rep.OK() {
					t.Fatalf("Check passed a capture with %s", f.name)
				}
				said = rep.Problems
			}
			var wants []string
			for _, w := range f.want {
				w = places.Replace(w)
				if slices.ContainsFunc(said, func(p string) bool { return strings.Contains(p, w) }) {
					return
				}
				wants = append(wants, w)
			}
			t.Errorf("the tier failed it, but with %q, want a problem containing one of %q", said, wants)
		})
	}
}

// TestFaultsRecordedBoot: each fault injected into the recorded boot fails
// the check.
func TestFaultsRecordedBoot(t *testing.T) {
	c, err := ReadCapture(recordedBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	checkFaults(t, c, beepPlan(t, fixtureNotes), RoundConsole)
}
