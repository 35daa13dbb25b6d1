package beepcompat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A call is one system call of interest in a strace log: an ioctl or a
// sleep.
type call struct {
	pid  int           // the thread's id; 0 when strace printed none
	at   time.Duration // strace's time stamp (-ttt): since the Unix epoch
	kind callKind
	// An ioctl's request number and argument, as strace prints them with
	// -e raw=ioctl.
	request, arg uint64
	sleep        time.Duration // the time a sleep asked for
	failed       bool          // the call returned an error
}

type callKind uint8

const (
	callIoctl callKind = iota + 1
	callSleep          // nanosleep or clock_nanosleep
)

// parseTrace reads the log of
//
//	strace -f -qq -ttt -e raw=ioctl -e trace=ioctl,clock_nanosleep,nanosleep
//
// (with or without -f, to a file or not): one call per line, each with a
// time stamp in seconds and microseconds, optionally after the thread's
// id. Lines about signals and exits are skipped, and so are other system
// calls; a call that strace splits in two ("<unfinished ...>", then
// "<... resumed>") is one call, at the time it started. Any other line
// is an error naming its line number.
func parseTrace(log string) ([]call, error) {
	var calls []call
	unfinished := map[int]int{} // pid → index in calls of its unfinished call
	for n, line := range strings.Split(log, "\n") {
		where := func(format string, args ...any) error {
			return fmt.Errorf("beepcompat: strace log line %d %q: %s", n+1, line, fmt.Sprintf(format, args...))
		}
		rest := strings.TrimSpace(line)
		if rest == "" {
			continue
		}
		pid, rest, err := cutPID(rest)
		if err != nil {
			return nil, where("%v", err)
		}
		stamp, rest, _ := strings.Cut(rest, " ")
		at, err := parseStamp(stamp)
		if err != nil {
			return nil, where("%v (want seconds.microseconds: run strace with -ttt)", err)
		}
		switch {
		case strings.HasPrefix(rest, "---"), strings.HasPrefix(rest, "+++"):
			continue // a signal, or the thread's exit
		case strings.HasPrefix(rest, "<... "):
			name, result, ok := strings.Cut(strings.TrimPrefix(rest, "<... "), " resumed>")
			if !ok {
				return nil, where("a resumed call without \" resumed>\"")
			}
			i, pending := unfinished[pid]
			if !isTraced(name) {
				continue
			}
			if !pending {
				return nil, where("%s resumed, but thread %d started none", name, pid)
			}
			delete(unfinished, pid)
			_, result, ok = cutResult(result)
			if !ok {
				return nil, where("no \") = RESULT\"")
			}
			calls[i].failed = !succeeded(result)
			continue
		}
		name, args, ok := strings.Cut(rest, "(")
		if !ok {
			return nil, where("not a system call")
		}
		if !isTraced(name) {
			continue
		}
		c := call{pid: pid, at: at}
		var result string
		if a, ok := strings.CutSuffix(args, " <unfinished ...>"); ok {
			args = a
			unfinished[pid] = len(calls)
		} else {
			args, result, ok = cutResult(args)
			if !ok {
				return nil, where("no \") = RESULT\"")
			}
			c.failed = !succeeded(result)
		}
		if name == "ioctl" {
			err = c.parseIoctl(args)
		} else {
			err = c.parseSleep(args)
		}
		if err != nil {
			return nil, where("%v", err)
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// cutResult splits "ARGS) = RESULT" into the arguments and the result.
// strace pads short calls with blanks before the "=", to line results up.
func cutResult(s string) (args, result string, ok bool) {
	i := strings.LastIndex(s, " = ")
	if i < 0 {
		return "", "", false
	}
	args, ok = strings.CutSuffix(strings.TrimRight(s[:i], " "), ")")
	return args, s[i+len(" = "):], ok
}

func isTraced(name string) bool {
	return name == "ioctl" || name == "nanosleep" || name == "clock_nanosleep"
}

// succeeded tells a call's result: "0" is success; "-1 ENOTTY (...)" and
// "? ERESTART_RESTARTBLOCK (...)" are failures.
func succeeded(result string) bool {
	return !strings.HasPrefix(result, "-") && !strings.HasPrefix(result, "?")
}

// cutPID takes the thread id off a line: "[pid 123] " when strace writes
// to its standard error, "123 " when it writes to a file. A time stamp
// has a point, a thread id none.
func cutPID(line string) (pid int, rest string, err error) {
	if r, ok := strings.CutPrefix(line, "[pid "); ok {
		id, rest, ok := strings.Cut(r, "]")
		if !ok {
			return 0, line, fmt.Errorf("no ']' after \"[pid\"")
		}
		pid, err := strconv.Atoi(strings.TrimSpace(id))
		if err != nil || pid <= 0 {
			return 0, line, fmt.Errorf("thread id %q is not a number above 0", id)
		}
		return pid, strings.TrimLeft(rest, " "), nil
	}
	first, rest, ok := strings.Cut(line, " ")
	if !ok || strings.Contains(first, ".") {
		return 0, line, nil
	}
	pid, err = strconv.Atoi(first)
	if err != nil || pid <= 0 {
		return 0, line, fmt.Errorf("%q is neither a thread id nor a time stamp", first)
	}
	return pid, strings.TrimLeft(rest, " "), nil
}

// parseStamp reads -ttt's "1795247080.395234" exactly, without a float's
// rounding.
func parseStamp(s string) (time.Duration, error) {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || sec == "" || frac == "" || len(frac) > 9 || strings.TrimLeft(sec+frac, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a time stamp", s)
	}
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || secs > int64(1<<63-1)/int64(time.Second)-1 {
		return 0, fmt.Errorf("time stamp %q is out of range", s)
	}
	nanos, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	return time.Duration(secs)*time.Second + time.Duration(nanos), nil
}

// parseIoctl reads "0x4, 0x4b2f, 0xa97": the descriptor, the request and
// the argument, all numbers with -e raw=ioctl.
func (c *call) parseIoctl(args string) error {
	c.kind = callIoctl
	fields := strings.Split(args, ", ")
	if len(fields) != 3 {
		return fmt.Errorf("ioctl with %d arguments, want 3 (run strace with -e raw=ioctl)", len(fields))
	}
	var err error
	if c.request, err = strconv.ParseUint(fields[1], 0, 64); err != nil {
		return fmt.Errorf("ioctl request %q is not a number (run strace with -e raw=ioctl)", fields[1])
	}
	if c.arg, err = strconv.ParseUint(fields[2], 0, 64); err != nil {
		return fmt.Errorf("ioctl argument %q is not a number (run strace with -e raw=ioctl)", fields[2])
	}
	return nil
}

// parseSleep reads the time asked for, "{tv_sec=0, tv_nsec=30000000}",
// among a sleep's arguments.
func (c *call) parseSleep(args string) error {
	c.kind = callSleep
	_, spec, ok := strings.Cut(args, "{tv_sec=")
	if !ok {
		return fmt.Errorf("sleep without {tv_sec=..., tv_nsec=...}")
	}
	sec, spec, ok1 := strings.Cut(spec, ", tv_nsec=")
	nsec, _, ok2 := strings.Cut(spec, "}")
	if !ok1 || !ok2 {
		return fmt.Errorf("sleep without {tv_sec=..., tv_nsec=...}")
	}
	secs, err1 := strconv.ParseInt(sec, 10, 64)
	nanos, err2 := strconv.ParseInt(nsec, 10, 64)
	if err1 != nil || err2 != nil || secs < 0 || nanos < 0 || nanos >= int64(time.Second) ||
		secs > int64(1<<63-1)/int64(time.Second)-1 {
		return fmt.Errorf("sleep of tv_sec=%s, tv_nsec=%s is not a time", sec, nsec)
	}
	c.sleep = time.Duration(secs)*time.Second + time.Duration(nanos)
	return nil
}
