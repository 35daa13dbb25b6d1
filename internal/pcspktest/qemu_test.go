package pcspktest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// bootLimit is how long one boot may take before qemu is killed: a boot
// took 11-20 s of wall time on a busy two-core host, the Imperial March's
// included (under instruction counting the guest's sleeps cost none).
const bootLimit = 90 * time.Second

var prepared struct {
	once    sync.Once
	machine *Machine
	err     error
	took    time.Duration
	builds  string // the folder of builder's binaries
	builder *Builder
}

func TestMain(m *testing.M) {
	code := m.Run()
	if prepared.builds != "" {
		os.RemoveAll(prepared.builds)
	}
	os.Exit(code)
}

// machine prepares qemu and the kernel once per test binary, or skips.
func machine(t *testing.T) *Machine {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a qemu guest (10-20 s each): not with -short")
	}
	prepared.once.Do(func() {
		start := time.Now()
		prepared.machine, prepared.err = Prepare(context.Background(), t.Logf)
		prepared.took = time.Since(start)
		if prepared.err == nil {
			prepared.builds, prepared.err = os.MkdirTemp("", "pcspktest-builds-")
			prepared.builder = NewBuilder(prepared.builds)
			// Every program the tests boot, built side by side now
			// rather than one by one as each test first needs it.
			prepared.err = prepared.builder.BuildAll(context.Background(), InitPackage, BeepPackage, KnockbeepdPackage, KnockPackage)
		}
		if prepared.err == nil {
			say(t, "qemu and %s ready in %v (cache %s); qemu runs under %q", prepared.machine.KernelPackage,
				prepared.took.Round(time.Millisecond), CacheDir(), strings.Join(prepared.machine.Priority, " "))
		}
	})
	if errors.Is(prepared.err, ErrUnavailable) {
		t.Skipf("cannot emulate a PC speaker on this host: %v", prepared.err)
	}
	if prepared.err != nil {
		t.Fatal(prepared.err)
	}
	return prepared.machine
}

// boot builds g into an initramfs, boots it, and listens to the result;
// anything short of a guest that ran its scenario to the end fails the
// test, with the guest's console.
func boot(t *testing.T, m *Machine, g Guest) *Listening {
	t.Helper()
	_, l := bootCapture(t, m, g)
	return l
}

// bootCapture is boot, returning the capture it listened to as well, for
// checkFaults.
func bootCapture(t *testing.T, m *Machine, g Guest) (*Capture, *Listening) {
	t.Helper()
	dir := t.TempDir()
	if keep := os.Getenv(ArtifactsEnv); keep != "" {
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("keeping the guest, console, trace and WAV in %s", dir)
	}
	initramfs := filepath.Join(dir, "initramfs.cpio")
	start := time.Now()
	if err := BuildInitramfs(context.Background(), m, prepared.builder, g, initramfs); err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	b, err := BootGuest(context.Background(), m, initramfs, dir, g.Scenario.Name, bootLimit)
	if err != nil {
		t.Fatalf("%v\nguest console:\n%s", err, b.Console)
	}
	if err := os.WriteFile(filepath.Join(dir, "console.log"), b.Console, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCapture(b)
	if err != nil {
		t.Fatalf("%v\nguest console:\n%s", err, b.Console)
	}
	l, err := c.Listen()
	if err != nil {
		t.Fatalf("%v\nguest console:\n%s", err, b.Console)
	}
	say(t, "%s: guest built in %v, qemu ran %v; the WAV's first sound is %v longer than by the guest's clock; the others agree within %v (%s)", g.Scenario.Name,
		built.Round(time.Millisecond), b.Wall.Round(time.Millisecond), l.Lag, l.WAVAgreement.Round(10*time.Microsecond), l.WAVAgreementAt)
	return c, l
}

// say reports to the test log and to standard output, so that the figures
// show in CI logs without -v.
func say(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	fmt.Printf("pcspktest: "+format+"\n", args...)
}

// check compares what was heard with plan, reports, and fails on problems.
func check(t *testing.T, l *Listening, plan []sequence.Tone, r Rounding) {
	t.Helper()
	rep := l.Check(plan, r, DefaultLimits())
	say(t, "%s: %s", t.Name(), rep)
	if !rep.OK() {
		t.Errorf("the speaker did not play the plan")
	}
}

// A beepNote is one tone of a beep command line, the flags between two -n.
type beepNote struct {
	freq   string // -f, as typed
	length int    // -l, ms
	reps   int    // -r
	delay  int    // -d or -D, ms
	// delayAfterLast is -D: the delay follows the last repetition too.
	delayAfterLast bool
}

// beepArgs is the command line for notes.
func beepArgs(notes []beepNote) []string {
	var args []string
	for i, n := range notes {
		if i > 0 {
			args = append(args, "-n")
		}
		delayFlag := "-d"
		if n.delayAfterLast {
			delayFlag = "-D"
		}
		args = append(args, "-f", n.freq, "-l", strconv.Itoa(n.length), "-r", strconv.Itoa(n.reps), delayFlag, strconv.Itoa(n.delay))
	}
	return args
}

// beepPlan is what beep 1.4 plays for notes: -f rounded half up to whole
// hertz; each repetition sounds for -l; -d waits between repetitions only,
// -D after the last one too; the next note follows straight on.
func beepPlan(t *testing.T, notes []beepNote) []sequence.Tone {
	var plan []sequence.Tone
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, n := range notes {
		f, err := strconv.ParseFloat(n.freq, 64)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n.reps {
			tone := sequence.Tone{Freq: math.Floor(f + 0.5), Length: ms(n.length)}
			if i+1 < n.reps || n.delayAfterLast {
				tone.Delay = ms(n.delay)
			}
			plan = append(plan, tone)
		}
	}
	return plan
}

// beepPrelude runs beep once before the scenario, at a frequency the
// scenario does not use (see Scenario.Prelude).
var beepPrelude = []Step{Run(10*time.Second, GuestBeep, "-e", "/dev/tty0", "-f", "2000", "-l", "100")}

// TestQemuBeepCLI plays a beep command line with repetitions, -d and -D
// through the console (KIOCSOUND on /dev/tty0) in the guest.
func TestQemuBeepCLI(t *testing.T) {
	m := machine(t)
	notes := []beepNote{
		{freq: "392", length: 250, reps: 2, delay: 100},
		{freq: "523.25", length: 150, reps: 1, delay: 120, delayAfterLast: true},
		{freq: "659", length: 100, reps: 3, delay: 80, delayAfterLast: true},
		{freq: "880", length: 200, reps: 1, delay: 300},
		// Low notes show how the console's divisor is rounded: the kernel
		// turns it into whole hertz and back, and a divisor rounded to
		// nearest played 220 Hz at 219.01 Hz (0.45 % off).
		{freq: "220", length: 150, reps: 1, delay: 100},
		{freq: "311.1", length: 150, reps: 1, delay: 0},
	}
	argv := append([]string{GuestBeep, "-e", "/dev/tty0"}, beepArgs(notes)...)
	c, l := bootCapture(t, m, Guest{
		Programs: map[string]string{GuestBeep: BeepPackage},
		Scenario: Scenario{Name: "beep", Prelude: beepPrelude, Steps: []Step{Run(30*time.Second, argv...)}},
	})
	if e, ok := l.Event(EventExit, "beep"); !ok || e.Detail != "exit status 0" {
		t.Errorf("beep exited with %q, want exit status 0", e.Detail)
	}
	plan := beepPlan(t, notes)
	check(t, l, plan, RoundConsole)
	// The same checks must fail this very boot with a fault injected.
	t.Run("faults", func(t *testing.T) { checkFaults(t, c, plan, RoundConsole) })
}

// beepSignalPrelude is beepPrelude, then a beep stopped with SIGTERM 300 ms
// into a note, so that beep's way from the signal to a silent speaker has
// run once before it is timed (see Scenario.Prelude; before instruction
// counting its first run took 2.7-3.9 ms instead of ~1 ms, all of it qemu
// translating code).
var beepSignalPrelude = append(slices.Clip(beepPrelude),
	Start("beep", GuestBeep, "-e", "/dev/tty0", "-f", "2000", "-l", "5000"),
	Sleep(300*time.Millisecond),
	Terminate("beep"),
	Wait("beep", 5*time.Second),
)

// TestQemuBeepSIGTERM stops beep with SIGTERM one second into a five-second
// note: the speaker must fall silent within 10 ms of the signal, and beep
// exit with status 1, as beep 1.4 does on a signal. One second in is
// about when the console speaker re-arms the kernel's stop timer
// (KDMKTONE, every second): the signal lands just before or after it, and
// either way the re-arm must not keep the tone going.
func TestQemuBeepSIGTERM(t *testing.T) {
	m := machine(t)
	g := Guest{
		Programs: map[string]string{GuestBeep: BeepPackage},
		Scenario: Scenario{Name: "sigterm", Prelude: beepSignalPrelude, KernelEvents: SignalTraceEvents, Steps: []Step{
			Start("beep", GuestBeep, "-e", "/dev/tty0", "-f", "1000", "-l", "5000"),
			Sleep(time.Second),
			Terminate("beep"),
			Wait("beep", 5*time.Second),
		}},
	}
	checkStopped(t, m, g, "beep", "exit status 1", 1000, RoundConsole)
}

// signalLimit is how soon after SIGTERM the speaker must be off.
const signalLimit = 10 * time.Millisecond

// checkStopped boots g, whose steps stop process with SIGTERM in the
// middle of a note at freq, and checks that the note ended within
// signalLimit of the signal, silenced by the process's own call, and that
// process exited with wantExit.
//
// Both ends of the latency are on the guest's clock, which under
// instruction counting only the guest's own work advances: the kill
// (signal_generate in the guest kernel's trace) and the speaker driver's
// call that silenced the note (SpeakerProbe). How the host schedules qemu
// moves neither, so one boot decides.
func checkStopped(t *testing.T, m *Machine, g Guest, process, wantExit string, freq float64, r Rounding) *Listening {
	t.Helper()
	l := boot(t, m, g)
	heard, err := l.UnderTest()
	if err != nil {
		t.Fatal(err)
	}
	if len(heard) != 1 {
		t.Fatalf("heard %d sounds, want the one long note", len(heard))
	}
	note := heard[0]
	if want := ChipFreq(freq, r); relErr(note.Freq(), want) > 0.003 || relErr(note.Measured, want) > 0.003 {
		t.Errorf("the note is %.2f Hz (WAV %.2f Hz), want %.2f Hz", note.Freq(), note.Measured, want)
	}
	if e, ok := l.Event(EventExit, process); !ok || e.Detail != wantExit {
		t.Errorf("%s exited with %q after SIGTERM, want %q", process, e.Detail, wantExit)
	}
	if l.StillOn {
		t.Error("the speaker was still on when the trace ended")
	}
	signal, ok := l.Event(EventSignal, process)
	if !ok {
		t.Fatal("the guest reported no signal")
	}
	// The guest kernel's trace says when kill ran and when the process
	// called on the speaker.
	reaction, err := l.SignalReaction(signal)
	if err != nil {
		t.Fatal(err)
	}
	sent := GuestTime(reaction.Sent)
	latency := note.End.Sub(sent)
	us := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	say(t, "%s: SIGTERM %v into a %.0f Hz note; the speaker went off %v after the signal (by the guest's clock: %v)", t.Name(),
		sent.Sub(note.Start).Round(time.Millisecond), note.Freq(), us(latency), reaction)
	// The driver call that ended the note must be the one the process's
	// silencing ioctl made: the same thread, not before the ioctl.
	if by := note.EndedBy; by.PID != reaction.Caller || by.At < reaction.Silenced {
		t.Errorf("the note was ended by %s-%d at %v, want by the %s call of thread %d at %v or after",
			by.Task, by.PID, by.At, reaction.Call, reaction.Caller, reaction.Silenced)
	}
	if latency < 0 || latency > signalLimit {
		t.Errorf("the speaker went off %v after SIGTERM, want within 0..%v (by the guest's clock: %v)", us(latency), signalLimit, reaction)
	}
	return l
}

// imperialMarch is the song file the daemon tests knock in, from the
// repository's songs/.
const imperialMarch = "../../songs/imperial-march.beep"

// songPlan is what knock composes a song file into and the daemon should
// play for it: sequence.Compose(...).Expected() under the default protocol.
func songPlan(t *testing.T, path string) []sequence.Tone {
	t.Helper()
	song, err := sequence.ReadSongFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), sequence.ComposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return plan.Expected()
}

func playTime(plan []sequence.Tone) time.Duration {
	var d time.Duration
	for _, tone := range plan {
		d += tone.Duration()
	}
	return d
}

// daemonGuest is a guest that runs knockbeepd with speaker, knocks the song
// at host path song into it, waits for the playback (then after more), and
// stops the daemon.
func daemonGuest(t *testing.T, name, speaker, song string, wait time.Duration) Guest {
	t.Helper()
	data, err := os.ReadFile(song)
	if err != nil {
		t.Fatal(err)
	}
	guestSong := "/songs/" + filepath.Base(song)
	return Guest{
		Programs: DaemonPrograms(),
		Files:    map[string][]byte{guestSong: data},
		Scenario: Scenario{Name: name, Prelude: DaemonPrelude(speaker), Steps: []Step{
			KnockSong(guestSong),
			Sleep(wait),
			Terminate("knockbeepd"),
			Wait("knockbeepd", 10*time.Second),
		}},
	}
}

// testDaemonSong knocks the Imperial March into knockbeepd in the guest and
// checks that the daemon played what the knock client composed.
func testDaemonSong(t *testing.T, speaker string, r Rounding) {
	m := machine(t)
	plan := songPlan(t, imperialMarch)
	// The daemon starts playing a moment after the play knock; give it
	// the song's length and a second.
	l := boot(t, m, daemonGuest(t, "daemon-"+speaker, speaker, imperialMarch, playTime(plan)+time.Second))
	checkWarmup(t, l, r, 1)
	if e, ok := l.Event(EventExit, "knock"); !ok || e.Detail != "exit status 0" {
		t.Errorf("knock exited with %q, want exit status 0", e.Detail)
	}
	if e, ok := l.Event(EventExit, "knockbeepd"); !ok || e.Detail != "exit status 0" {
		t.Errorf("knockbeepd exited with %q after SIGTERM, want exit status 0 (stopped cleanly)", e.Detail)
	}
	check(t, l, plan, r)
}

// checkWarmup checks that before the opening marker the daemon played n
// notes at DaemonWarmupFreq: DaemonPrelude's, and any before it.
func checkWarmup(t *testing.T, l *Listening, r Rounding, n int) {
	t.Helper()
	prelude, err := l.Prelude()
	if err != nil {
		t.Fatal(err)
	}
	want := ChipFreq(DaemonWarmupFreq, r)
	ok := len(prelude) == n
	for _, h := range prelude {
		ok = ok && relErr(h.Freq(), want) <= 0.003
	}
	if !ok {
		t.Errorf("before the opening marker the daemon played %d sounds, want %d warm-up notes at %.2f Hz", len(prelude), n, want)
	}
}

// TestQemuDaemonConsole: knockbeepd --speaker console plays the Imperial
// March knocked in with knock --song, through KIOCSOUND.
func TestQemuDaemonConsole(t *testing.T) { testDaemonSong(t, "console", RoundConsole) }

// TestQemuDaemonEvdev: the same through the PC Speaker's input event node.
func TestQemuDaemonEvdev(t *testing.T) { testDaemonSong(t, "evdev", RoundEvdev) }

// TestQemuDaemonSIGTERM stops knockbeepd with SIGTERM one second into a
// five-second note knocked in with knock: the speaker must fall silent
// within 10 ms, and the daemon exit with status 0 (a clean stop).
func TestQemuDaemonSIGTERM(t *testing.T) {
	m := machine(t)
	song := filepath.Join(t.TempDir(), "long.beep")
	if err := os.WriteFile(song, []byte("beep -f 880 -l 5000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := daemonGuest(t, "daemon-sigterm", "console", song, time.Second)
	g.Scenario.Prelude = append(DaemonSignalWarmup("console"), g.Scenario.Prelude...)
	g.Scenario.KernelEvents = SignalTraceEvents
	l := checkStopped(t, m, g, "knockbeepd", "exit status 0", sequence.NoteFreq(sequence.NearestNote(880)), RoundConsole)
	// The warm-up daemon's note, cut short by its SIGTERM, then
	// DaemonPrelude's.
	checkWarmup(t, l, RoundConsole, 2)
}
