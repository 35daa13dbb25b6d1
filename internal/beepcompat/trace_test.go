package beepcompat

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stamp is a -ttt time stamp as parseTrace returns it.
func stamp(sec, usec int64) time.Duration {
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
}

var traceCases = []struct {
	name string
	log  string
	want []call
}{
	{
		name: "beep 1.4, one thread, to a file",
		log: `1795247080.436574 ioctl(0x3, 0x8000451a, 0x7ffe9acf1520) = -1 ENOTTY (Inappropriate ioctl for device)
1795247080.436952 ioctl(0x4, 0x4b2f, 0) = 0
1795247080.437162 ioctl(0x4, 0x4b2f, 0xa97) = 0
1795247080.437240 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=30000000}, NULL) = 0
1795247080.445479 +++ exited with 0 +++
`,
		want: []call{
			{at: stamp(1795247080, 436574), kind: callIoctl, request: 0x8000451a, arg: 0x7ffe9acf1520, failed: true},
			{at: stamp(1795247080, 436952), kind: callIoctl, request: _KIOCSOUND},
			{at: stamp(1795247080, 437162), kind: callIoctl, request: _KIOCSOUND, arg: 0xa97},
			{at: stamp(1795247080, 437240), kind: callSleep, sleep: 30 * time.Millisecond},
		},
	},
	{
		name: "threads to a file, padded results, a long sleep",
		log: `15804 1795247024.884351 ioctl(0x5, 0x4b2f, 0)       = 0
15806 1795247024.915308 ioctl(0x5, 0x4b30, 0x7d00a91) = 0
15806 1795247024.915309 nanosleep({tv_sec=2, tv_nsec=500}, NULL) = 0
15808 1795247024.981235 +++ exited with 0 +++
`,
		want: []call{
			{pid: 15804, at: stamp(1795247024, 884351), kind: callIoctl, request: _KIOCSOUND},
			{pid: 15806, at: stamp(1795247024, 915308), kind: callIoctl, request: _KDMKTONE, arg: 0x7d00a91},
			{pid: 15806, at: stamp(1795247024, 915309), kind: callSleep, sleep: 2*time.Second + 500},
		},
	},
	{
		name: "threads to standard error, a call split by another, a signal",
		log: `[pid 24500] 1795247080.000001 ioctl(0x5, 0x4b2f, 0 <unfinished ...>
[pid 24499] 1795247080.000002 ioctl(0x5, 0x4b30, 0x7d0003c) = 0
[pid 24500] 1795247080.000003 <... ioctl resumed>) = -1 EIO (Input/output error)
[pid 24500] 1795247080.000004 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=24496, si_uid=0} ---
`,
		want: []call{
			{pid: 24500, at: stamp(1795247080, 1), kind: callIoctl, request: _KIOCSOUND, failed: true},
			{pid: 24499, at: stamp(1795247080, 2), kind: callIoctl, request: _KDMKTONE, arg: 0x7d0003c},
		},
	},
	{
		name: "other calls and an interrupted sleep",
		log: `1.5 write(1, "a", 1) = 1
2.000000001 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=5000000}, {tv_sec=0, tv_nsec=1000}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)
`,
		want: []call{{at: 2*time.Second + 1, kind: callSleep, sleep: 5 * time.Millisecond, failed: true}},
	},
	{name: "empty", log: "\n\n", want: nil},
}

func TestParseTrace(t *testing.T) {
	for _, tt := range traceCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTrace(tt.log)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls (-want +got):\n  -%+v\n  +%+v", tt.want, got)
			}
		})
	}
}

func TestParseTraceErrors(t *testing.T) {
	for _, tt := range []struct {
		name, log, want string
	}{
		{"no time stamp", "ioctl(0x4, 0x4b2f, 0) = 0", `line 1 "ioctl(0x4, 0x4b2f, 0) = 0": "ioctl(0x4," is neither a thread id nor a time stamp`},
		{"wall-clock time stamp", "07:43:40.934463 ioctl(0x4, 0x4b2f, 0) = 0", "run strace with -ttt"},
		{"decoded ioctl", "1.0 ioctl(4, KIOCSOUND, 2705 /* 441 Hz */) = 0", "run strace with -e raw=ioctl"},
		{"ioctl with two arguments", "1.0 ioctl(0x4, 0x4b2f) = 0", "ioctl with 2 arguments"},
		{"no result", "1.0\n2.0 ioctl(0x4, 0x4b2f, 0)", `line 1 "1.0": not a system call`},
		{"no result, line 2", "\n2.0 ioctl(0x4, 0x4b2f, 0)", `line 2 "2.0 ioctl(0x4, 0x4b2f, 0)": no ") = RESULT"`},
		{"sleep without a time", "1.0 nanosleep(NULL, NULL) = 0", "sleep without {tv_sec"},
		{"sleep of a negative time", "1.0 nanosleep({tv_sec=0, tv_nsec=-1}, NULL) = 0", "is not a time"},
		{"resumed, never started", "7 1.0 <... ioctl resumed>) = 0", "thread 7 started none"},
		{"bad thread id", "[pid x] 1.0 ioctl(0x4, 0x4b2f, 0) = 0", `thread id "x"`},
		{"huge time stamp", "99999999999999999999.0 ioctl(0x4, 0x4b2f, 0) = 0", "out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTrace(tt.log)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseTrace(%q) error = %v, want one containing %q", tt.log, err, tt.want)
			}
		})
	}
}

// formatCall writes c as strace -ttt -e raw=ioctl does (to a file, so
// with the thread id first), with the time stamp in nanoseconds so that
// nothing is lost.
func formatCall(c call) string {
	var b strings.Builder
	if c.pid != 0 {
		fmt.Fprintf(&b, "%d ", c.pid)
	}
	fmt.Fprintf(&b, "%d.%09d ", c.at/time.Second, c.at%time.Second)
	switch c.kind {
	case callIoctl:
		fmt.Fprintf(&b, "ioctl(0x4, %#x, %#x)", c.request, c.arg)
	case callSleep:
		fmt.Fprintf(&b, "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=%d, tv_nsec=%d}, NULL)", c.sleep/time.Second, c.sleep%time.Second)
	}
	if c.failed {
		b.WriteString(" = -1 EIO (Input/output error)")
	} else {
		b.WriteString(" = 0")
	}
	return b.String()
}

// FuzzParseTrace checks that parseTrace never panics, that what it reads
// is well formed, and that the calls it returns read back the same when
// written out again.
func FuzzParseTrace(f *testing.F) {
	for _, tt := range traceCases {
		f.Add(tt.log)
	}
	f.Fuzz(func(t *testing.T, log string) {
		calls, err := parseTrace(log)
		if err != nil || len(calls) == 0 {
			return
		}
		lines := make([]string, len(calls))
		for i, c := range calls {
			if c.kind != callIoctl && c.kind != callSleep || c.at < 0 || c.sleep < 0 || c.pid < 0 {
				t.Fatalf("call %d is not well formed: %+v", i, c)
			}
			lines[i] = formatCall(c)
		}
		again, err := parseTrace(strings.Join(lines, "\n"))
		if err != nil {
			t.Fatalf("reading back %q: %v", lines, err)
		}
		if !reflect.DeepEqual(again, calls) {
			t.Errorf("read back (-first +again):\n  -%+v\n  +%+v", calls, again)
		}
	})
}
