package pcspktest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// A Heard sound is a Sound with its frequency measured in the recording.
// Its count is the one qemu's port trace shows the timer chip given; its
// start and end are on the guest's clock (GuestTime), from the guest
// kernel's trace of the speaker driver (SpeakerProbe).
type Heard struct {
	Sound
	Measured float64       // hertz, from the WAV's zero crossings
	Gap      time.Duration // silence until the next sound; 0 after the last
	// EndedBy is the guest kernel's speaker event that ended the sound;
	// its PID names the thread that silenced it.
	EndedBy KernelEvent
}

// A Listening is what one boot let the host hear: the speaker's sounds
// from the traces, measured in the WAV, and the guest's own account.
type Listening struct {
	Heard   []Heard       // every sound, the two marker tones included
	StillOn bool          // the speaker was on at the end of the trace
	Lag     time.Duration // how much longer the first sound is in the WAV than the guest's clock has it
	// WAVAgreement is the largest difference between a sound's length in
	// the WAV and by the guest's clock (wavAgreement), and WAVAgreementAt
	// says where.
	WAVAgreement   time.Duration
	WAVAgreementAt string
	Recording      time.Duration // the WAV's length
	Events         []GuestEvent
	Kernel         []KernelEvent // the guest kernel's trace (SpeakerProbe, Scenario.KernelEvents)
}

// wavEdge bounds how much of each end of a sound's span in the WAV is left
// out of its frequency measurement: LocateSounds places a boundary to
// within a half period, and qemu restarts the wave there.
const wavEdge = 5 * time.Millisecond

// A Capture is what a boot recorded, read but not yet judged: the guest's
// account, the guest kernel's trace, qemu's port writes and its WAV.
// Listen judges it; a test may first change it to inject a fault.
type Capture struct {
	Events []GuestEvent
	Kernel []KernelEvent
	Writes []PortWrite
	WAV    Recording
}

// ReadCapture reads a finished boot's console, trace and WAV.
func ReadCapture(b *Boot) (*Capture, error) {
	var c Capture
	var err error
	if c.Events, err = ParseGuestEvents(b.Console); err != nil {
		return nil, err
	}
	if c.Kernel, err = ParseKernelTrace(b.Console); err != nil {
		return nil, err
	}
	traceFile, err := os.Open(b.Trace)
	if err != nil {
		return nil, fmt.Errorf("pcspktest: %w", err)
	}
	c.Writes, err = ParseTrace(traceFile)
	traceFile.Close()
	if err != nil {
		return nil, err
	}
	wavFile, err := os.Open(b.WAV)
	if err != nil {
		return nil, fmt.Errorf("pcspktest: %w", err)
	}
	c.WAV, err = ReadWAV(wavFile)
	wavFile.Close()
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Listen reads a finished boot and listens to it (Capture.Listen).
func Listen(b *Boot) (*Listening, error) {
	c, err := ReadCapture(b)
	if err != nil {
		return nil, err
	}
	return c.Listen()
}

// Listen turns a capture into sounds. qemu's port trace says what the
// timer chip and the speaker gate were given, in order; the guest kernel's
// trace of the speaker driver says when, on the guest's clock. Both must
// tell the same sounds, one for one, count for count: the port trace is
// then the proof that the driver's calls reached the speaker, and the
// guest's clock the measure of time. qemu runs the guest on instruction
// counting (BootGuest), where the guest's clock advances with the
// instructions it runs: how the host schedules qemu cannot move it. The
// port trace's host timestamps are not used.
func (c *Capture) Listen() (*Listening, error) {
	l := &Listening{Events: c.Events, Kernel: c.Kernel}
	if err := l.guestFinished(); err != nil {
		return l, err
	}
	ports, _, portsOn := replayPorts(c.Writes)
	sounds, bounds, kernelOn := SpeakerSounds(c.Kernel)
	if err := sameSounds(ports, portsOn, sounds, kernelOn); err != nil {
		return l, err
	}
	l.StillOn = portsOn
	rec := c.WAV
	l.Recording = rec.Duration()
	spans, lag := LocateSounds(rec, sounds)
	l.Lag = lag
	var err error
	if l.WAVAgreement, l.WAVAgreementAt, err = wavAgreement(rec, sounds, spans); err != nil {
		return l, err
	}
	for i, s := range sounds {
		h := Heard{Sound: s}
		if i+1 < len(sounds) {
			h.Gap = sounds[i+1].Start.Sub(s.End)
		}
		if end := bounds[i][1]; end >= 0 {
			h.EndedBy = c.Kernel[end]
		}
		// Leave out a period at each end, at most wavEdge, and never
		// more than a quarter of the span.
		edge := min(int(math.Ceil(float64(rec.Rate)/s.Freq())), int(wavEdge.Seconds()*float64(rec.Rate)))
		from, to := spans[i].From, spans[i].To
		edge = min(edge, (to-from)/4)
		from, to = from+edge, to-edge
		// A span too short to measure stays at 0 Hz, which no plan
		// accepts: Compare reports it.
		h.Measured, _ = MeasureFrequency(rec.Samples[from:to], rec.Rate)
		l.Heard = append(l.Heard, h)
	}
	return l, nil
}

// wavSlack is how far a sound's length in the WAV may be off its length by
// the guest's clock, besides one period of its tone: qemu makes the
// speaker's samples in steps of the audio timer's period (BootGuest's
// timer-period, 1 ms), so each end may be up to a step off. The period is
// LocateSounds': it places each end at a zero crossing, within a half
// period of the edge.
const wavSlack = 2 * time.Millisecond

// wavAgreement checks the WAV's timing against the guest's clock: under
// instruction counting qemu records the speaker on the guest's clock, so
// each sound must last as long in the WAV as the guest kernel's trace
// says, within wavSlack and a period. Neighbouring sounds at one count are
// one sound in the WAV and are compared as one. The first and the last
// are left out: qemu's audio starts some 30 ms early and ends as much
// short.
func wavAgreement(rec Recording, sounds []Sound, spans []Span) (worst time.Duration, at string, err error) {
	for first := 0; first < len(sounds); {
		last := first
		guest := sounds[first].Length()
		for last+1 < len(sounds) && sounds[last+1].Divisor == sounds[first].Divisor {
			last++
			guest += sounds[last].Length()
		}
		if first > 0 && last+1 < len(sounds) {
			wav := time.Duration(spans[last].To-spans[first].From) * time.Second / time.Duration(rec.Rate)
			off := (wav - guest).Abs()
			where := fmt.Sprintf("sound %d, %.2f Hz: %v in the WAV, %v by the guest's clock", first+1, sounds[first].Freq(),
				wav.Round(10*time.Microsecond), guest.Round(10*time.Microsecond))
			if off > worst || at == "" {
				worst, at = off, where
			}
			if limit := wavSlack + time.Duration(float64(time.Second)/sounds[first].Freq()); off > limit {
				return worst, at, fmt.Errorf("pcspktest: %s: off by %v, more than the %v the recording can be off: the WAV and the guest kernel's trace disagree",
					where, off.Round(10*time.Microsecond), limit.Round(10*time.Microsecond))
			}
		}
		first = last + 1
	}
	return worst, at, nil
}

// sameSounds checks that qemu's port trace and the guest kernel's speaker
// trace tell the same sounds: as many, at the same counts, in the same
// order, and the speaker on or off alike at the end.
func sameSounds(ports []Sound, portsOn bool, kernel []Sound, kernelOn bool) error {
	for i := range min(len(ports), len(kernel)) {
		if ports[i].Divisor != kernel[i].Divisor {
			return fmt.Errorf("pcspktest: sound %d is %.2f Hz (count %d) in qemu's port trace but %.2f Hz (count %d) in the guest kernel's speaker trace: the two traces disagree",
				i+1, ports[i].Freq(), ports[i].Divisor, kernel[i].Freq(), kernel[i].Divisor)
		}
	}
	switch {
	case len(ports) != len(kernel):
		return fmt.Errorf("pcspktest: qemu's port trace holds %d sounds, the guest kernel's speaker trace %d: the two traces disagree (is the %s probe in place?)",
			len(ports), len(kernel), SpeakerEvent)
	case portsOn != kernelOn:
		return fmt.Errorf("pcspktest: at the end the speaker is on=%v in qemu's port trace but on=%v in the guest kernel's speaker trace", portsOn, kernelOn)
	}
	return nil
}

// guestFinished checks that /init ran its scenario to the end.
func (l *Listening) guestFinished() error {
	var problems []string
	done := false
	for _, e := range l.Events {
		switch e.Kind {
		case EventError:
			problems = append(problems, e.Detail)
		case EventDone:
			done = true
		}
	}
	switch {
	case len(problems) > 0:
		return fmt.Errorf("pcspktest: the guest failed: %s", strings.Join(problems, "; "))
	case !done:
		return errors.New("pcspktest: the guest never reported the end of its scenario (see the console log)")
	}
	return nil
}

// Event returns the first guest event of kind about name from the opening
// marker on: an event of the Scenario's Steps, not of its Prelude, which
// may run the same program under the same name.
func (l *Listening) Event(kind, name string) (GuestEvent, bool) {
	from := slices.IndexFunc(l.Events, func(e GuestEvent) bool { return e.Kind == EventMarkerOn })
	if from < 0 {
		return GuestEvent{}, false
	}
	for _, e := range l.Events[from:] {
		if e.Kind == kind && e.Name == name {
			return e, true
		}
	}
	return GuestEvent{}, false
}

// markers finds the marker tones in the trace: the opening one is the
// first sound at the marker's count (a Scenario's Prelude plays before it,
// at other frequencies), the closing one the last sound.
func (l *Listening) markers() (opening, closing int, err error) {
	want := ChipFreq(MarkerFreq, RoundConsole)
	isMarker := func(h Heard) bool { return relErr(h.Freq(), want) <= 0.001 }
	opening = slices.IndexFunc(l.Heard, isMarker)
	closing = len(l.Heard) - 1
	switch {
	case opening < 0:
		return 0, 0, fmt.Errorf("pcspktest: none of the trace's %d sounds is the %.2f Hz marker tone", len(l.Heard), want)
	case closing == opening:
		return 0, 0, errors.New("pcspktest: the trace holds one marker tone, want two around the sounds under test")
	case !isMarker(l.Heard[closing]):
		return 0, 0, fmt.Errorf("pcspktest: the last sound of the trace is %.2f Hz, want the %.2f Hz marker tone (did the speaker stay on?)", l.Heard[closing].Freq(), want)
	}
	return opening, closing, nil
}

// UnderTest is the sounds between the two marker tones.
func (l *Listening) UnderTest() ([]Heard, error) {
	opening, closing, err := l.markers()
	if err != nil {
		return nil, err
	}
	return l.Heard[opening+1 : closing], nil
}

// Prelude is the sounds before the opening marker: those of the
// Scenario's Prelude.
func (l *Listening) Prelude() ([]Heard, error) {
	opening, _, err := l.markers()
	if err != nil {
		return nil, err
	}
	return l.Heard[:opening], nil
}

// Rounding says which way a frequency reaches the timer chip.
type Rounding int

const (
	// RoundConsole is KIOCSOUND: user space passes the count
	// ⌊1193182/f⌋, the kernel turns it back into whole hertz and the
	// pcspkr driver into a count again.
	RoundConsole Rounding = iota
	// RoundEvdev is EV_SND/SND_TONE: the event carries whole hertz and the
	// driver divides once.
	RoundEvdev
)

// ChipFreq is the frequency the timer chip makes when asked for f hertz.
func ChipFreq(f float64, r Rounding) float64 {
	if !(f > 0) {
		return 0
	}
	hz := math.Round(f)
	if r == RoundConsole {
		hz = math.Floor(PITHz / math.Floor(PITHz/f))
	}
	return PITHz / math.Floor(PITHz/hz)
}

// Limits are how far a sound may stray from the plan.
type Limits struct {
	Freq   float64       // relative to ChipFreq, e.g. 0.003 for 0.3 %
	Timing time.Duration // on each tone's length and each silence
}

// DefaultLimits are issue 6's: 0.3 % and ±5 ms.
func DefaultLimits() Limits { return Limits{Freq: 0.003, Timing: 5 * time.Millisecond} }

// A Report is the outcome of comparing what was heard with a plan.
type Report struct {
	Notes         int     // notes compared
	WorstFreq     float64 // relative frequency error, the WAV's or the trace's
	WorstFreqAt   string
	WorstTiming   time.Duration // absolute, lengths and silences alike
	WorstTimingAt string
	Problems      []string // empty when the plan was heard
}

// OK reports whether the plan was heard within the limits.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r Report) String() string {
	s := fmt.Sprintf("%d notes checked; worst frequency error %.3f%% (%s); worst timing error %v (%s)",
		r.Notes, r.WorstFreq*100, r.WorstFreqAt, r.WorstTiming, r.WorstTimingAt)
	if len(r.Problems) > 0 {
		s += fmt.Sprintf("\n%d problems:\n  %s", len(r.Problems), strings.Join(r.Problems, "\n  "))
	}
	return s
}

// Audible reduces a plan to what a speaker can be heard doing: a tone that
// sounds nothing (Length or Freq 0) adds its time to the silence before
// it, silence before the first tone is dropped, and a tone that follows
// one of its own frequency with no silence between lengthens it (the
// trace cannot tell them apart either, see Sounds).
func Audible(plan []sequence.Tone) []sequence.Tone {
	var out []sequence.Tone
	for _, t := range plan {
		last := len(out) - 1
		switch {
		case t.Length <= 0 || t.Freq <= 0:
			if last >= 0 {
				out[last].Delay += t.Length + t.Delay
			}
		case last >= 0 && out[last].Delay == 0 && out[last].Freq == t.Freq:
			out[last].Length += t.Length
			out[last].Delay = t.Delay
		default:
			out = append(out, t)
		}
	}
	return out
}

// Compare checks heard against plan, note by note: the same count, each
// frequency (the trace's and the WAV's) within lim.Freq of ChipFreq, each
// length and each silence between two notes within lim.Timing. The
// silence after the last note is not checked: the player exits there, and
// the marker that follows is /init's.
func Compare(plan []sequence.Tone, heard []Heard, r Rounding, lim Limits) Report {
	plan = Audible(plan)
	var rep Report
	if len(plan) != len(heard) {
		rep.Problems = append(rep.Problems, fmt.Sprintf("heard %d notes, the plan has %d%s",
			len(heard), len(plan), firstDifference(plan, heard, r)))
	}
	rep.Notes = min(len(plan), len(heard))
	freq := func(i int, what string, got, want float64) {
		e := relErr(got, want)
		where := fmt.Sprintf("note %d, %s %.2f Hz for %.2f Hz", i+1, what, got, want)
		if e > rep.WorstFreq || rep.WorstFreqAt == "" {
			rep.WorstFreq, rep.WorstFreqAt = e, where
		}
		if !(e <= lim.Freq) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: off by %.3f%%, limit %.3f%%", where, e*100, lim.Freq*100))
		}
	}
	timing := func(i int, what string, got, want time.Duration) {
		e := (got - want).Abs()
		where := fmt.Sprintf("note %d, %s %v for %v", i+1, what, got.Round(10*time.Microsecond), want)
		if e > rep.WorstTiming || rep.WorstTimingAt == "" {
			rep.WorstTiming, rep.WorstTimingAt = e, where
		}
		if e > lim.Timing {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: off by %v, limit ±%v", where, e.Round(10*time.Microsecond), lim.Timing))
		}
	}
	for i := 0; i < rep.Notes; i++ {
		want := ChipFreq(plan[i].Freq, r)
		freq(i, "trace", heard[i].Freq(), want)
		freq(i, "WAV", heard[i].Measured, want)
		timing(i, "length", heard[i].Length(), plan[i].Length)
		if i+1 < rep.Notes {
			timing(i, "silence after", heard[i].Gap, plan[i].Delay)
		}
	}
	return rep
}

// firstDifference names the first note whose frequency does not match, to
// make a count mismatch easy to place.
func firstDifference(plan []sequence.Tone, heard []Heard, r Rounding) string {
	for i := 0; i < min(len(plan), len(heard)); i++ {
		if want := ChipFreq(plan[i].Freq, r); relErr(heard[i].Freq(), want) > 0.01 {
			return fmt.Sprintf("; the first that differs is note %d: %.2f Hz for %.2f Hz", i+1, heard[i].Freq(), want)
		}
	}
	return ""
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / want }

// Check compares the sounds between the markers with plan (see Compare)
// and checks that the speaker was off when the trace ended.
func (l *Listening) Check(plan []sequence.Tone, r Rounding, lim Limits) Report {
	heard, err := l.UnderTest()
	if err != nil {
		return Report{Problems: []string{err.Error()}}
	}
	rep := Compare(plan, heard, r, lim)
	if l.StillOn {
		rep.Problems = append(rep.Problems, "the speaker was still on when the trace ended")
	}
	return rep
}
