package pcspktest

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A Scenario is what the guest's /init does once the speaker modules are
// loaded and lo is up. The harness stores it in the initramfs as
// ScenarioPath; /init frames its steps with two marker tones (MarkerFreq)
// that tell the host where the sounds under test begin and end.
type Scenario struct {
	Name string
	// Prelude runs before the opening marker, and its sounds are not
	// under test. It has the program under test run once first (at a
	// frequency other than MarkerFreq), so that what is timed is not its
	// very first run: that faults its pages in and, without instruction
	// counting, paid for qemu translating its code (up to ~7 ms on a
	// first note). Under instruction counting (BootGuest) translation
	// costs the guest no time; the prelude stays so that a test times a
	// program as a running machine would run it.
	Prelude []Step
	Steps   []Step
	// KernelEvents are ftrace events the guest kernel records, besides
	// the speaker driver's (SpeakerProbe, always), from before the
	// Prelude to the closing marker, each "subsystem/event" optionally
	// followed by " if FILTER" (SignalTraceEvents). /init copies the
	// trace to the console after the closing marker, as KernelMarker
	// lines on the clock of the GuestEvents.
	KernelEvents []string
}

// ScenarioPath is where the guest's /init reads its Scenario (JSON).
const ScenarioPath = "/scenario.json"

// The marker tone /init plays through KIOCSOUND on /dev/tty0 before and
// after the scenario. It is not part of what a test proves; it frames the
// tones under test in the trace and the WAV.
const (
	MarkerFreq   = 3000
	MarkerLength = 100 * time.Millisecond
	// MarkerGap is the silence /init keeps between a marker and the steps.
	MarkerGap = 200 * time.Millisecond
)

// StepOp says what a Step does.
type StepOp string

const (
	OpRun    StepOp = "run"    // run Argv and wait for it to exit
	OpStart  StepOp = "start"  // start Argv in the background as Name
	OpSleep  StepOp = "sleep"  // sleep for Duration
	OpSignal StepOp = "signal" // send SIGTERM to the background process Name
	OpWait   StepOp = "wait"   // wait for the background process Name to exit
	OpAwait  StepOp = "await"  // wait for the file Name to exist
)

// A Step is one thing /init does. Processes write to the guest console;
// /init reports their start, signals and exit as GuestEvents.
type Step struct {
	Op   StepOp
	Name string   // the process a start, signal or wait is about; the file an await waits for
	Argv []string // run, start: absolute path in the guest, then arguments
	// Duration is the sleep for OpSleep and the time limit of OpRun, OpAwait and
	// OpWait, after which /init kills the process and reports the failure.
	Duration time.Duration
}

// Run runs argv in the guest and waits at most limit for it to exit. The
// process is named after argv[0]'s last element.
func Run(limit time.Duration, argv ...string) Step {
	return Step{Op: OpRun, Name: baseName(argv), Argv: argv, Duration: limit}
}

// Start starts argv in the background under name.
func Start(name string, argv ...string) Step { return Step{Op: OpStart, Name: name, Argv: argv} }

// Sleep pauses the scenario.
func Sleep(d time.Duration) Step { return Step{Op: OpSleep, Duration: d} }

// Terminate sends SIGTERM to the background process name; the guest event
// records the guest time just before the signal.
func Terminate(name string) Step { return Step{Op: OpSignal, Name: name} }

// Wait waits at most limit for the background process name to exit.
func Wait(name string, limit time.Duration) Step {
	return Step{Op: OpWait, Name: name, Duration: limit}
}

// AwaitFile waits at most limit for the file path to exist in the guest:
// a program's own sign that it is ready (a daemon's pid file), where a
// fixed sleep would depend on how fast the emulator runs today.
func AwaitFile(path string, limit time.Duration) Step {
	return Step{Op: OpAwait, Name: path, Duration: limit}
}

func baseName(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return argv[0][strings.LastIndexByte(argv[0], '/')+1:]
}

// GuestMarker starts every console line /init writes for the host; the
// rest of the line is "<guest CLOCK_MONOTONIC ns> <kind> [name] [detail]".
const GuestMarker = "@@KB"

// Kinds of GuestEvent.
const (
	EventBoot      = "boot"       // /init started
	EventMarkerOn  = "marker-on"  // just before the marker tone's ioctl
	EventMarkerOff = "marker-off" // just before silencing the marker
	EventStart     = "start"      // process Name started
	EventSignal    = "signal"     // just before SIGTERM to Name
	EventExit      = "exit"       // Name exited; Detail is its status
	EventError     = "error"      // /init failed; Detail says why
	EventDone      = "done"       // every step ran; powering off
)

// A GuestEvent is one marker line of the guest console.
type GuestEvent struct {
	At     time.Duration // guest CLOCK_MONOTONIC
	Kind   string
	Name   string
	Detail string
}

// String is the console line for e, without GuestMarker.
func (e GuestEvent) String() string {
	s := strconv.FormatInt(int64(e.At), 10) + " " + e.Kind
	if e.Name != "" || e.Detail != "" {
		s += " " + strconv.Quote(e.Name)
	}
	if e.Detail != "" {
		s += " " + strconv.Quote(e.Detail)
	}
	return s
}

// ParseGuestEvents picks the marker lines out of a guest console log. Lines
// that do not start with GuestMarker are the guest's own output and are
// skipped; a marker line that does not parse is an error naming its line.
func ParseGuestEvents(console []byte) ([]GuestEvent, error) {
	var events []GuestEvent
	sc := bufio.NewScanner(bytes.NewReader(console))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), " \t\r")
		// The serial console may glue a marker to the end of a kernel
		// message that had no newline yet.
		i := strings.Index(text, GuestMarker+" ")
		if i < 0 {
			continue
		}
		e, err := parseGuestEvent(text[i+len(GuestMarker)+1:])
		if err != nil {
			return events, fmt.Errorf("pcspktest: guest console line %d: %w", line, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return events, fmt.Errorf("pcspktest: reading the guest console: %w", err)
	}
	return events, nil
}

func parseGuestEvent(s string) (GuestEvent, error) {
	at, rest, _ := strings.Cut(s, " ")
	ns, err := strconv.ParseInt(at, 10, 64)
	if err != nil || ns < 0 {
		return GuestEvent{}, fmt.Errorf("marker time %q is not a count of nanoseconds", at)
	}
	e := GuestEvent{At: time.Duration(ns)}
	e.Kind, rest, _ = strings.Cut(rest, " ")
	if e.Kind == "" || strings.Trim(e.Kind, "abcdefghijklmnopqrstuvwxyz-") != "" {
		return GuestEvent{}, fmt.Errorf("marker kind %q is not a word like \"boot\"", e.Kind)
	}
	for _, field := range []*string{&e.Name, &e.Detail} {
		if rest == "" {
			break
		}
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return GuestEvent{}, fmt.Errorf("marker %s: %q is not a quoted string", e.Kind, rest)
		}
		*field, _ = strconv.Unquote(quoted)
		rest = strings.TrimPrefix(rest[len(quoted):], " ")
	}
	if rest != "" {
		return GuestEvent{}, fmt.Errorf("marker %s: unexpected %q after its fields", e.Kind, rest)
	}
	return e, nil
}

// Where the tests put the project's programs in the guest.
const (
	GuestBeep       = "/bin/beep"
	GuestKnockbeepd = "/bin/knockbeepd"
	GuestKnock      = "/bin/knock"
)

// The project's programs, as BuildInitramfs builds them for the guest.
const (
	BeepPackage       = "github.com/knockbeep/knockbeep/cmd/beep"
	KnockbeepdPackage = "github.com/knockbeep/knockbeep/cmd/knockbeepd"
	KnockPackage      = "github.com/knockbeep/knockbeep/cmd/knock"
)

// A guest knockbeepd is ready when its pid file exists: it writes the
// file just before it opens its capture, so daemonReady more lets that
// finish (under emulation, loading the daemon's binary alone takes longer
// than any fixed sleep can promise on a busy host).
const (
	daemonReady      = 500 * time.Millisecond
	daemonStartLimit = 60 * time.Second
)

// startDaemon starts knockbeepd as name with speaker on lo, with its
// state in stateDir, and waits until it captures.
func startDaemon(name, speaker, stateDir string) []Step {
	pidFile := stateDir + ".pid"
	return []Step{
		Start(name, GuestKnockbeepd, "--speaker", speaker, "-i", "lo", "--state-dir", stateDir, "--pidfile", pidFile),
		AwaitFile(pidFile, daemonStartLimit),
		Sleep(daemonReady),
	}
}

// DaemonWarmupFreq is the frequency of the note DaemonPrelude has the
// daemon play: MIDI note 95 (B6), pitch port 2095 of the default protocol.
const DaemonWarmupFreq = 1975.53

// DaemonPrelude starts knockbeepd with speaker ("console" or "evdev") on
// the guest's loopback as "knockbeepd", and has it play one 100 ms note at
// DaemonWarmupFreq, knocked in with knock's plain port mode (pitch, tone,
// play), so that the song under test is not its first (see
// Scenario.Prelude). The daemon goes on running into the steps: end them
// with Terminate and Wait.
func DaemonPrelude(speaker string) []Step {
	return append(startDaemon("knockbeepd", speaker, "/run/knockbeep"),
		Run(10*time.Second, GuestKnock, "-d", "1", "127.0.0.1", "2095", "1000", "1002"),
		Sleep(500*time.Millisecond),
	)
}

// DaemonSignalWarmup has a first knockbeepd, "knockbeepd-warmup" with a
// state folder of its own, start a 500 ms note at DaemonWarmupFreq and
// stops it with SIGTERM 200 ms in. The way from a signal to a silent
// speaker then has run once before a test times it (see Scenario.Prelude).
// Put it before DaemonPrelude.
func DaemonSignalWarmup(speaker string) []Step {
	return append(startDaemon("knockbeepd-warmup", speaker, "/run/knockbeep-warmup"),
		Run(10*time.Second, GuestKnock, "-d", "1", "127.0.0.1", "2095", "1000", "1000", "1000", "1000", "1000", "1002"),
		Sleep(200*time.Millisecond),
		Terminate("knockbeepd-warmup"),
		Wait("knockbeepd-warmup", 10*time.Second),
	)
}

// KnockSong knocks song (a guest path) into the daemon on 127.0.0.1 with
// knock --song. The daemon plays it once the play knock lands.
func KnockSong(song string) Step {
	return Run(30*time.Second, GuestKnock, "--song", song, "127.0.0.1")
}

// DaemonPrograms are the programs DaemonPrelude and KnockSong run.
func DaemonPrograms() map[string]string {
	return map[string]string{GuestKnockbeepd: KnockbeepdPackage, GuestKnock: KnockPackage}
}
