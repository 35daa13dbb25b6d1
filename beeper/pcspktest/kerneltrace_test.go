package pcspktest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var kernelTraceTests = []struct {
	name    string
	console string
	want    []KernelEvent
	wantErr string
}{
	{
		name: "a signal and a syscall among other console lines",
		console: "@@KB 3786862014 signal \"beep\" \"SIGTERM\"\r\n" +
			"@@KT             init-80      [000] d..1.     3.787549: signal_generate: sig=15 errno=0 code=0 comm=beep pid=88 grp=1 res=0\r\n" +
			"guestinit: not a trace line\n" +
			"@@KT             beep-94      [000] ...1.     3.790918: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)\n",
		want: []KernelEvent{
			{At: 3787549 * time.Microsecond, Task: "init", PID: 80, Name: "signal_generate",
				Args: map[string]string{"sig": "15", "errno": "0", "code": "0", "comm": "beep", "pid": "88", "grp": "1", "res": "0"}},
			{At: 3790918 * time.Microsecond, Task: "beep", PID: 94, Name: "sys_ioctl",
				Args: map[string]string{"fd": "3", "cmd": "4b2f", "arg": "0"}},
		},
	},
	{
		name:    "a task name with dashes and a slash",
		console: "@@KT      kworker/0:2-my-46      [000] d..2.     3.791284: sched_switch: prev_comm=x prev_pid=46\n",
		want: []KernelEvent{{At: 3791284 * time.Microsecond, Task: "kworker/0:2-my", PID: 46, Name: "sched_switch",
			Args: map[string]string{"prev_comm": "x", "prev_pid": "46"}}},
	},
	{
		name:    "nanoseconds",
		console: "@@KT <idle>-0 [001] d.h2. 12.000000001: irq_handler_entry: irq=4 name=ttyS0\n",
		want: []KernelEvent{{At: 12*time.Second + 1, Task: "<idle>", PID: 0, Name: "irq_handler_entry",
			Args: map[string]string{"irq": "4", "name": "ttyS0"}}},
	},
	{
		name:    "no cpu field",
		console: "@@KT beep-94 3.790918: sys_ioctl(fd: 3)\n",
		wantErr: "line 1",
	},
	{
		name:    "no pid",
		console: "@@KT beep [000] ...1. 3.790918: sys_ioctl(fd: 3)\n",
		wantErr: "not task-pid",
	},
	{
		name:    "a time that is not seconds",
		console: "ok\n@@KT beep-94 [000] ...1. 3,790918: sys_ioctl(fd: 3)\n",
		wantErr: "line 2",
	},
	{
		name:    "no event",
		console: "@@KT beep-94 [000] ...1. 3.790918:\n",
		wantErr: "want flags, time and event",
	},
}

func TestParseKernelTrace(t *testing.T) {
	for _, tt := range kernelTraceTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKernelTrace([]byte(tt.console))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKernelTrace error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("events (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
}

func FuzzParseKernelTrace(f *testing.F) {
	for _, tt := range kernelTraceTests {
		f.Add(tt.console)
	}
	f.Fuzz(func(t *testing.T, console string) {
		events, err := ParseKernelTrace([]byte(console))
		if err != nil {
			return
		}
		if n := strings.Count(console, KernelMarker+" "); len(events) > n {
			t.Errorf("%d events from %d marker lines", len(events), n)
		}
		for _, e := range events {
			if e.At < 0 || e.PID < 0 || e.Name == "" || strings.ContainsAny(e.Name, " \t") {
				t.Errorf("impossible event %+v", e)
			}
		}
	})
}

// trace is a console of kernel events, one per line.
func trace(lines ...string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(KernelMarker + " " + l + "\n")
	}
	return []byte(b.String())
}

func TestSignalReaction(t *testing.T) {
	const (
		marker = "init-1 [000] ...1. 1.000000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 18d)"
		kill   = "init-80 [000] d..1. 2.000100: signal_generate: sig=15 errno=0 code=0 comm=beep pid=88 grp=1 res=0"
		deliv  = "beep-88 [000] d..1. 2.000300: signal_deliver: sig=15 errno=0 code=0 sa_handler=487d00 sa_flags=1c000004"
		rearm  = "beep-90 [000] ...1. 2.000200: sys_ioctl(fd: 3, cmd: 4b30, arg: 7d004a9)"
		off    = "beep-94 [000] ...1. 2.001500: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)"
	)
	stamp := GuestEvent{At: 2 * time.Second, Kind: EventSignal, Name: "beep", Detail: "SIGTERM"}
	tests := []struct {
		name    string
		console []byte
		want    SignalReaction
		wantErr string
	}{
		{
			name:    "kill, delivery, silence",
			console: trace(marker, kill, deliv, off),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0"},
		},
		{
			name:    "a re-arm before the delivery is not counted",
			console: trace(marker, kill, rearm, deliv, off),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0"},
		},
		{
			name:    "a re-arm after the delivery is not the silence",
			console: trace(kill, deliv, strings.Replace(rearm, "2.000200", "2.000400", 1), off),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0", Rearms: 1},
		},
		{
			name:    "KDMKTONE of no length silences",
			console: trace(kill, deliv, strings.NewReplacer("2.000200", "2.000400", "arg: 7d004a9", "arg: 4a9").Replace(rearm)),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2000400 * time.Microsecond, Call: "KDMKTONE 0x4a9"},
		},
		{
			name:    "never delivered",
			console: trace(kill, off),
			wantErr: "SIGTERM never delivered",
		},
		{
			name:    "no kernel trace",
			console: nil,
			wantErr: "no kill",
		},
		{
			name:    "the speaker never called",
			console: trace(kill, deliv),
			wantErr: "no KIOCSOUND 0 or KDMKTONE 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseKernelTrace(tt.console)
			if err != nil {
				t.Fatal(err)
			}
			l := &Listening{Kernel: events}
			got, err := l.SignalReaction(stamp)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SignalReaction error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("SignalReaction (-want +got):\n-%+v\n+%+v (%v)", tt.want, got, err)
			}
		})
	}
}

// TestHostTimeThroughMarkerEnds: with the speaker ioctls traced, a guest
// time maps onto the trace through the ends of the two markers, scaled by
// the rate between the two clocks; without, through /init's stamps at
// their starts.
func TestHostTimeThroughMarkerEnds(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	host0 := time.Unix(1795247882, 0)
	marker := func(start time.Duration) Heard {
		return Heard{Sound: Sound{Start: host0.Add(start), End: host0.Add(start + ms(100)), Divisor: PITHz / MarkerFreq}}
	}
	l := &Listening{
		// On the trace: the markers end at 100 ms and 2100 ms.
		Heard: []Heard{marker(0), {Sound: Sound{Start: host0.Add(ms(500)), End: host0.Add(ms(1500)), Divisor: 1193}}, marker(ms(2000))},
		Events: []GuestEvent{
			{At: ms(4999.5), Kind: EventMarkerOn},
			{At: ms(7000.3), Kind: EventMarkerOn},
		},
	}
	// On the guest's clock /init entered the ioctls ending them at 5100
	// and 7099 ms: the guest's clock runs 0.05 % slow.
	var err error
	l.Kernel, err = ParseKernelTrace(trace(
		"init-1 [000] ...1. 5.000000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 18d)",
		"init-1 [000] ...1. 5.100000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)",
		"beep-94 [000] ...1. 6.000000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)",
		"init-1 [000] ...1. 7.000000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 18d)",
		"init-1 [000] ...1. 7.099000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)",
	))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Duration
		want time.Duration // after host0
	}{
		{"the opening marker's end", ms(5100), ms(100)},
		{"the closing marker's end", ms(7099), ms(2100)},
		{"in between, scaled", ms(6099.5), ms(1100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.HostTime(tt.at)
			if err != nil || got.Sub(host0) != tt.want {
				t.Errorf("HostTime(%v) = host0+%v, %v; want host0+%v", tt.at, got.Sub(host0), err, tt.want)
			}
		})
	}
	if drift, err := l.ClockDrift(); err != nil || drift != ms(1) {
		t.Errorf("ClockDrift() = %v, %v; want 1ms", drift, err)
	}

	// Without the kernel's trace: /init's stamps at the markers' starts.
	l.Kernel = nil
	if got, err := l.HostTime(ms(5999.9)); err != nil || got.Sub(host0) != ms(1000) {
		t.Errorf("without the kernel trace, HostTime(5999.9ms) = host0+%v, %v; want host0+1s", got.Sub(host0), err)
	}
	if drift, err := l.ClockDrift(); err != nil || drift != ms(-0.8) {
		t.Errorf("without the kernel trace, ClockDrift() = %v, %v; want -800µs", drift, err)
	}
}
