package pcspktest

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// KernelMarker starts every console line on which /init copies out the
// guest kernel's trace (Scenario.KernelEvents); the rest of the line is a
// line of tracefs's "trace" file, stamped with CLOCK_MONOTONIC like the
// GuestEvents.
const KernelMarker = "@@KT"

// The console's speaker ioctls (linux/kd.h).
const (
	kiocsound = 0x4B2F // a tone of PIT count arg, 0 for silence
	kdmktone  = 0x4B30 // a tone with a stop timer: ms<<16 | count
)

// SpeakerProbe is the kprobe /init places on the entry of the pcspkr
// driver's event handler, pcspkr_event(dev, type, code, value), through
// which every sound reaches the speaker, from KIOCSOUND, KDMKTONE and the
// input event node alike. Its events (SpeakerEvent) time the sounds on the
// guest's clock; qemu's port trace says what the timer chip was given.
// The handler's arguments are in the x86-64 argument registers.
const SpeakerProbe = "p:" + SpeakerEvent + " pcspkr_event type=%si:u32 code=%dx:u32 value=%cx:s32"

// SpeakerEvent is the name of SpeakerProbe's events.
const SpeakerEvent = "kbspeaker"

// The input events the pcspkr driver plays (linux/input-event-codes.h).
const (
	evSnd   = 0x12
	sndBell = 0x01 // a bell: value nonzero sounds 1000 Hz
	sndTone = 0x02 // a tone of value hertz, 0 for silence
)

// SpeakerSounds replays the guest kernel's SpeakerEvents as the pcspkr
// driver does (pcspkr_event, Linux 6.1): a tone of 21..32766 Hz loads the
// timer count PITHz/value and turns the speaker on, any other value turns
// it off. The sounds come out as Sounds makes them from port writes, on
// the guest's clock (GuestTime), so that the two can be compared one for
// one. bounds holds, for each sound, the indexes in events of the event
// that began it and of the one that ended it (-1 while still on).
func SpeakerSounds(events []KernelEvent) (sounds []Sound, bounds [][2]int, stillOn bool) {
	var (
		current Sound
		from    int
		last    time.Duration
	)
	for i, e := range events {
		if e.Name != SpeakerEvent {
			continue
		}
		typ, ok1 := e.Arg("type", false)
		code, ok2 := e.Arg("code", false)
		value, err := strconv.ParseInt(e.Args["value"], 10, 32)
		if !ok1 || !ok2 || err != nil || typ != evSnd || (code != sndBell && code != sndTone) {
			continue
		}
		last = e.At
		if code == sndBell && value != 0 {
			value = 1000
		}
		var count uint32
		if value > 20 && value < 32767 {
			count = uint32(PITHz / value)
		}
		at := GuestTime(e.At)
		switch {
		case count != 0 && !stillOn:
			current, from, stillOn = Sound{Start: at, Divisor: count}, i, true
		case count != 0 && count != current.Divisor:
			current.End = at
			sounds, bounds = append(sounds, current), append(bounds, [2]int{from, i})
			current, from = Sound{Start: at, Divisor: count}, i
		case count == 0 && stillOn:
			current.End = at
			sounds, bounds = append(sounds, current), append(bounds, [2]int{from, i})
			stillOn = false
		}
	}
	if stillOn {
		current.End = GuestTime(last)
		sounds, bounds = append(sounds, current), append(bounds, [2]int{from, -1})
	}
	return sounds, bounds, stillOn
}

// guestEpoch is the guest's boot on a time.Time axis.
var guestEpoch = time.Unix(0, 0).UTC()

// GuestTime places a time on the guest's CLOCK_MONOTONIC on the time axis of
// the Sounds a Listening hears.
func GuestTime(at time.Duration) time.Time { return guestEpoch.Add(at) }

// SignalTraceEvents are the ftrace events that show how a process reacts
// to SIGTERM on the console speaker: the kill, the signal reaching the
// process, and every KIOCSOUND and KDMKTONE call. They are filtered in the
// guest kernel, so a few lines are recorded, not thousands.
var SignalTraceEvents = []string{
	"signal/signal_generate if sig == 15",
	"signal/signal_deliver if sig == 15",
	"syscalls/sys_enter_ioctl if cmd == 0x4b2f || cmd == 0x4b30",
}

// A KernelEvent is one event of the guest kernel's trace, such as
//
//	beep-94 [000] ...1.  3.790918: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)
//	init-80 [000] d..1.  3.787549: signal_generate: sig=15 errno=0 code=0 comm=beep pid=88 grp=1 res=0
type KernelEvent struct {
	At   time.Duration // guest CLOCK_MONOTONIC, to the microsecond
	Task string        // the thread's command name
	PID  int           // the thread's id
	Name string        // "signal_generate", or "sys_ioctl" for syscalls/sys_enter_ioctl
	Args map[string]string
}

// ParseKernelTrace picks the KernelMarker lines out of a guest console log.
// A marker line that does not parse is an error naming its line.
func ParseKernelTrace(console []byte) ([]KernelEvent, error) {
	var events []KernelEvent
	sc := bufio.NewScanner(bytes.NewReader(console))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), " \t\r"), KernelMarker+" ")
		if !ok {
			continue
		}
		e, err := parseKernelEvent(text)
		if err != nil {
			return events, fmt.Errorf("pcspktest: guest console line %d: kernel trace: %w", line, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return events, fmt.Errorf("pcspktest: reading the guest console: %w", err)
	}
	return events, nil
}

func parseKernelEvent(text string) (KernelEvent, error) {
	var e KernelEvent
	// "task-pid [cpu] flags seconds.micros: event"; the task name may
	// hold dashes and spaces, the pid is after its last dash.
	head, rest, ok := strings.Cut(text, " [")
	if !ok {
		return e, fmt.Errorf("%q: no \" [cpu]\" after the task", text)
	}
	head = strings.TrimSpace(head)
	dash := strings.LastIndexByte(head, '-')
	pid, err := strconv.Atoi(head[dash+1:])
	if dash < 1 || err != nil || pid < 0 {
		return e, fmt.Errorf("%q is not task-pid", head)
	}
	e.Task, e.PID = head[:dash], pid
	_, rest, ok = strings.Cut(rest, "] ")
	if !ok {
		return e, fmt.Errorf("%q: the cpu field is not closed", text)
	}
	fields := strings.Fields(rest)
	if len(fields) < 3 {
		return e, fmt.Errorf("%q: want flags, time and event after the cpu", text)
	}
	stamp, ok := strings.CutSuffix(fields[1], ":")
	if !ok {
		return e, fmt.Errorf("time %q does not end in a colon", fields[1])
	}
	if e.At, err = parseSeconds(stamp); err != nil {
		return e, err
	}
	_, event, _ := strings.Cut(rest, fields[1]+" ")
	if name, args, ok := strings.Cut(event, ": "); ok && !strings.Contains(name, "(") {
		e.Name = name
		e.Args = map[string]string{}
		for _, f := range strings.Fields(args) {
			if k, v, ok := strings.Cut(f, "="); ok {
				e.Args[k] = v
			}
		}
	} else if name, args, ok := strings.Cut(event, "("); ok && strings.HasSuffix(args, ")") {
		e.Name = name
		e.Args = map[string]string{}
		for _, f := range strings.Split(strings.TrimSuffix(args, ")"), ", ") {
			if k, v, ok := strings.Cut(f, ": "); ok {
				e.Args[k] = v
			}
		}
	} else {
		e.Name = strings.TrimSuffix(event, ":")
	}
	if e.Name == "" || strings.ContainsAny(e.Name, " \t") {
		return e, fmt.Errorf("%q does not start with an event name", event)
	}
	return e, nil
}

// parseSeconds reads "3.790918" (seconds, then up to nine decimals).
func parseSeconds(s string) (time.Duration, error) {
	sec, frac, _ := strings.Cut(s, ".")
	whole, err1 := strconv.ParseUint(sec, 10, 32)
	part, err2 := strconv.ParseUint(frac+strings.Repeat("0", max(0, 9-len(frac))), 10, 64)
	if err1 != nil || err2 != nil || len(frac) == 0 || len(frac) > 9 {
		return 0, fmt.Errorf("time %q is not seconds.fraction", s)
	}
	return time.Duration(whole)*time.Second + time.Duration(part), nil
}

// Arg returns an argument as a number: decimal, or hexadecimal as ftrace
// prints syscall arguments ("cmd: 4b2f"), hex reports which was tried.
func (e KernelEvent) Arg(name string, hex bool) (uint64, bool) {
	v, ok := e.Args[name]
	if !ok {
		return 0, false
	}
	base := 10
	if hex {
		base = 16
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), base, 64)
	return n, err == nil
}

// A SignalReaction is how the guest kernel saw a process answer SIGTERM on
// the console speaker, each time on the guest's clock.
type SignalReaction struct {
	Stamped   time.Duration // /init's stamp just before kill (the GuestEvent)
	Sent      time.Duration // signal_generate: kill ran
	Delivered time.Duration // signal_deliver: a thread of the process took it
	// Silenced is the first call after that to silence the speaker:
	// KIOCSOUND 0, or KDMKTONE with a count or a length of 0.
	Silenced time.Duration
	Call     string // that call, e.g. "KIOCSOUND 0"
	Caller   int    // the thread that made the call

	// Rearms counts the KDMKTONE calls between the delivery and the
	// silencing that kept the tone going: the console speaker re-arms the
	// kernel's stop timer every second, and a signal can land just then.
	Rearms int
}

// SignalReaction follows the signal /init reported in e through the guest
// kernel's trace (a scenario run with SignalTraceEvents).
func (l *Listening) SignalReaction(e GuestEvent) (SignalReaction, error) {
	r := SignalReaction{Stamped: e.At}
	step := 0
	for _, k := range l.Kernel {
		if k.At < e.At {
			continue
		}
		switch {
		case step == 0 && k.Name == "signal_generate" && k.Args["sig"] == "15":
			r.Sent, step = k.At, 1
		case step == 1 && k.Name == "signal_deliver" && k.Args["sig"] == "15":
			r.Delivered, step = k.At, 2
		case step == 2 && k.Name == "sys_ioctl":
			cmd, _ := k.Arg("cmd", true)
			arg, _ := k.Arg("arg", true)
			switch {
			case cmd == kiocsound && arg == 0:
				r.Call = "KIOCSOUND 0"
			case cmd == kdmktone && (arg&0xFFFF == 0 || arg>>16 == 0):
				r.Call = fmt.Sprintf("KDMKTONE %#x", arg)
			case cmd == kdmktone || cmd == kiocsound:
				r.Rearms++
				continue
			default:
				continue
			}
			r.Silenced, r.Caller = k.At, k.PID
			return r, nil
		}
	}
	what := [...]string{"no kill (signal_generate) of SIGTERM", "SIGTERM never delivered", "no KIOCSOUND 0 or KDMKTONE 0 after SIGTERM was delivered"}[step]
	return r, fmt.Errorf("pcspktest: the guest kernel's trace after %v shows %s (%d kernel events in all)", e.At, what, len(l.Kernel))
}

// String tells where the time went, from /init's stamp.
func (r SignalReaction) String() string {
	us := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	s := fmt.Sprintf("kill %v after /init's stamp, delivered %v later, %s %v after that (%v from the kill)",
		us(r.Sent-r.Stamped), us(r.Delivered-r.Sent), r.Call, us(r.Silenced-r.Delivered), us(r.Silenced-r.Sent))
	if r.Rearms > 0 {
		s += fmt.Sprintf("; %d KDMKTONE re-arm in between", r.Rearms)
	}
	return s
}
