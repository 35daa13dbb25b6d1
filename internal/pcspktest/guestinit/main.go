//go:build linux

// Command guestinit is the /init of the qemu guest that pcspktest boots. It
// mounts the kernel's file systems, loads the PC speaker modules, brings up
// lo, then runs the pcspktest.Scenario stored in the initramfs between two
// marker tones, reporting each event on the console as a pcspktest.GuestMarker
// line, and powers the machine off so that qemu finishes its WAV file.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/internal/pcspktest"
)

// _KIOCSOUND starts a tone of PIT divisor arg on the console, 0 stops it.
const _KIOCSOUND = 0x4B2F // linux/kd.h

// pitHz is the PC's timer chip clock: a tone's divisor is pitHz/frequency.
const pitHz = 1193182

func main() {
	if err := run(); err != nil {
		report(pcspktest.EventError, "", err.Error())
	}
	unix.Sync()
	// If the power-off fails, returning from init panics the kernel and
	// panic=-1 with qemu's -no-reboot ends qemu all the same.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(os.Stderr, "guestinit: power off: %v\n", err)
	}
}

func run() error {
	report(pcspktest.EventBoot, "", "")
	if err := mountAll(); err != nil {
		return err
	}
	for _, module := range pcspktest.GuestModules() {
		if err := loadModule(module); err != nil {
			return err
		}
	}
	speaker, err := findPCSpeaker()
	if err != nil {
		return err
	}
	fmt.Printf("guestinit: PC Speaker is %s\n", speaker)
	if err := loopbackUp(); err != nil {
		return err
	}
	scenario, err := readScenario()
	if err != nil {
		return err
	}
	fmt.Printf("guestinit: scenario %q, %d prelude steps, %d steps\n", scenario.Name, len(scenario.Prelude), len(scenario.Steps))

	tty, err := os.OpenFile("/dev/tty0", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("guestinit: opening /dev/tty0 for the marker tone: %w", err)
	}
	defer tty.Close()
	// Processes the prelude starts in the background go on into the
	// steps, which must wait for them.
	running := map[string]*process{}
	defer func() {
		for _, p := range running {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}()
	// The kernel's trace of the speaker driver runs from before the
	// prelude's first sound to after the closing marker, so that it holds
	// every sound qemu's port trace does, one for one.
	if err := startKernelTrace(scenario.KernelEvents); err != nil {
		return err
	}
	if len(scenario.Prelude) > 0 {
		if err := runSteps("prelude", scenario.Prelude, running); err != nil {
			return err
		}
		time.Sleep(pcspktest.MarkerGap)
	}
	if err := marker(tty); err != nil {
		return err
	}
	time.Sleep(pcspktest.MarkerGap)
	if err := runSteps("scenario", scenario.Steps, running); err != nil {
		return err
	}
	for name := range running {
		return fmt.Errorf("guestinit: %s was still running at the end of the scenario (add a wait step)", name)
	}
	time.Sleep(pcspktest.MarkerGap)
	if err := marker(tty); err != nil {
		return err
	}
	if err := dumpKernelTrace(); err != nil {
		return err
	}
	report(pcspktest.EventDone, "", "")
	return nil
}

// report writes one marker line, stamped with CLOCK_MONOTONIC now.
func report(kind, name, detail string) {
	reportAt(monotonic(), kind, name, detail)
}

// reportAt writes one marker line stamped at, a time taken earlier. The
// console is a serial port: a line costs the guest a write and a few
// interrupts, hundreds of microseconds under emulation, so events that
// time a sound are stamped just before their system call and written
// after it, never between the two.
func reportAt(at time.Duration, kind, name, detail string) {
	e := pcspktest.GuestEvent{At: at, Kind: kind, Name: name, Detail: detail}
	fmt.Printf("%s %s\n", pcspktest.GuestMarker, e)
}

func monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func mountAll() error {
	mounts := []struct{ source, target, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/run", "tmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("guestinit: %w", err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("guestinit: mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("guestinit: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("guestinit: loading %s: %w", path, err)
	}
	return nil
}

// findPCSpeaker names the speaker's event node, proving that pcspkr bound
// to the machine's speaker: without it KIOCSOUND succeeds and stays silent.
func findPCSpeaker() (string, error) {
	names, _ := filepath.Glob("/sys/class/input/input*/name")
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil || strings.TrimSpace(string(b)) != "PC Speaker" {
			continue
		}
		events, _ := filepath.Glob(filepath.Join(filepath.Dir(name), "event*"))
		if len(events) == 0 {
			return "", fmt.Errorf("guestinit: the PC Speaker (%s) has no event node: is evdev.ko loaded?", filepath.Dir(name))
		}
		return "/dev/input/" + filepath.Base(events[0]), nil
	}
	return "", errors.New("guestinit: no input device named \"PC Speaker\": pcspkr.ko did not bind")
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("guestinit: socket for interface flags: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("guestinit: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("guestinit: reading the flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("guestinit: bringing lo up: %w", err)
	}
	return nil
}

func readScenario() (pcspktest.Scenario, error) {
	var s pcspktest.Scenario
	b, err := os.ReadFile(pcspktest.ScenarioPath)
	if err != nil {
		return s, fmt.Errorf("guestinit: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("guestinit: %s: %w", pcspktest.ScenarioPath, err)
	}
	return s, nil
}

// marker plays the marker tone through the console ioctl.
func marker(tty *os.File) error {
	on := monotonic()
	if err := unix.IoctlSetInt(int(tty.Fd()), _KIOCSOUND, pitHz/pcspktest.MarkerFreq); err != nil {
		return fmt.Errorf("guestinit: KIOCSOUND on /dev/tty0: %w", err)
	}
	reportAt(on, pcspktest.EventMarkerOn, "", "")
	time.Sleep(pcspktest.MarkerLength)
	off := monotonic()
	if err := unix.IoctlSetInt(int(tty.Fd()), _KIOCSOUND, 0); err != nil {
		return fmt.Errorf("guestinit: KIOCSOUND off on /dev/tty0: %w", err)
	}
	reportAt(off, pcspktest.EventMarkerOff, "", "")
	return nil
}

// A process is a program a step started.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait returned
	err  error         // cmd.Wait's result, readable once done is closed
	// signalled are the signals sent to it, reported once it exits.
	signalled []pcspktest.GuestEvent
}

// runSteps runs steps in order; running holds the background processes,
// by name.
func runSteps(part string, steps []pcspktest.Step, running map[string]*process) error {
	for i, step := range steps {
		where := fmt.Sprintf("guestinit: %s step %d (%s %s)", part, i+1, step.Op, step.Name)
		switch step.Op {
		case pcspktest.OpRun:
			p, err := start(step.Name, step.Argv)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if err := wait(step.Name, p, step.Duration); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		case pcspktest.OpStart:
			p, err := start(step.Name, step.Argv)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			running[step.Name] = p
		case pcspktest.OpSleep:
			time.Sleep(step.Duration)
		case pcspktest.OpAwait:
			if err := awaitFile(step.Name, step.Duration); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		case pcspktest.OpSignal:
			p, ok := running[step.Name]
			if !ok {
				return fmt.Errorf("%s: no background process of that name", where)
			}
			// Reported when the process has exited (see wait): a
			// console line written now would compete with the
			// process's reaction to the signal on the guest's one CPU.
			at := monotonic()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			p.signalled = append(p.signalled, pcspktest.GuestEvent{At: at, Kind: pcspktest.EventSignal, Name: step.Name, Detail: "SIGTERM"})
		case pcspktest.OpWait:
			p, ok := running[step.Name]
			if !ok {
				return fmt.Errorf("%s: no background process of that name", where)
			}
			delete(running, step.Name)
			if err := wait(step.Name, p, step.Duration); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		default:
			return fmt.Errorf("%s: unknown step", where)
		}
	}
	return nil
}

// awaitFile polls for path every 10 ms, at most limit.
func awaitFile(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v", path, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(name string, argv []string) (*process, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	cmd.Env = []string{"PATH=/bin", "HOME=/tmp"}
	report(pcspktest.EventStart, name, strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// wait waits for p, reports its exit status, and kills it after limit.
func wait(name string, p *process, limit time.Duration) error {
	var late error
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		late = fmt.Errorf("%s did not exit within %v", name, limit)
	}
	for _, e := range p.signalled {
		reportAt(e.At, e.Kind, e.Name, e.Detail)
	}
	if late != nil {
		report(pcspktest.EventExit, name, "killed after "+limit.String())
		return late
	}
	report(pcspktest.EventExit, name, p.cmd.ProcessState.String())
	return nil
}

// tracefs is where the guest kernel's trace is controlled and read.
const tracefs = "/sys/kernel/tracing"

// startKernelTrace records the speaker driver's events
// (pcspktest.SpeakerProbe) and events ("subsystem/event", optionally
// followed by " if FILTER") in a fresh trace buffer, in CLOCK_MONOTONIC: the
// clock of the GuestEvents.
func startKernelTrace(events []string) error {
	if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("guestinit: mounting tracefs on %s: %w", tracefs, err)
	}
	settings := [][2]string{{"tracing_on", "0"}, {"trace_clock", "mono"}, {"trace", ""},
		{"kprobe_events", pcspktest.SpeakerProbe}}
	events = append([]string{"kprobes/" + pcspktest.SpeakerEvent}, events...)
	for _, spec := range events {
		event, filter, _ := strings.Cut(spec, " if ")
		if filter != "" {
			settings = append(settings, [2]string{"events/" + event + "/filter", filter})
		}
		settings = append(settings, [2]string{"events/" + event + "/enable", "1"})
	}
	settings = append(settings, [2]string{"tracing_on", "1"})
	for _, s := range settings {
		if err := os.WriteFile(filepath.Join(tracefs, s[0]), []byte(s[1]), 0); err != nil {
			return fmt.Errorf("guestinit: kernel trace: writing %q: %w", s[1], err)
		}
	}
	return nil
}

// dumpKernelTrace stops the kernel trace and copies it to the console,
// each line after pcspktest.KernelMarker.
func dumpKernelTrace() error {
	if err := os.WriteFile(filepath.Join(tracefs, "tracing_on"), []byte("0"), 0); err != nil {
		return fmt.Errorf("guestinit: kernel trace: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(tracefs, "trace"))
	if err != nil {
		return fmt.Errorf("guestinit: kernel trace: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			fmt.Printf("%s %s\n", pcspktest.KernelMarker, line)
		}
	}
	return nil
}
