package pcspktest

import (
	"fmt"
	"reflect"
	"slices"
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
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0", Caller: 94},
		},
		{
			name:    "a re-arm before the delivery is not counted",
			console: trace(marker, kill, rearm, deliv, off),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0", Caller: 94},
		},
		{
			name:    "a re-arm after the delivery is not the silence",
			console: trace(kill, deliv, strings.Replace(rearm, "2.000200", "2.000400", 1), off),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2001500 * time.Microsecond, Call: "KIOCSOUND 0", Caller: 94, Rearms: 1},
		},
		{
			name:    "KDMKTONE of no length silences",
			console: trace(kill, deliv, strings.NewReplacer("2.000200", "2.000400", "arg: 7d004a9", "arg: 4a9").Replace(rearm)),
			want:    SignalReaction{Stamped: 2 * time.Second, Sent: 2000100 * time.Microsecond, Delivered: 2000300 * time.Microsecond, Silenced: 2000400 * time.Microsecond, Call: "KDMKTONE 0x4a9", Caller: 90},
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

// speakerLine is a line of the guest kernel's trace of the speaker driver.
func speakerLine(task string, at string, code, value int) string {
	return fmt.Sprintf("%s [000] d..1. %s: kbspeaker: (pcspkr_event+0x0/0xe0 [pcspkr]) type=18 code=%d value=%d", task, at, code, value)
}

// TestSpeakerSounds replays the speaker driver's events as pcspkr does.
func TestSpeakerSounds(t *testing.T) {
	ms := func(n float64) time.Time { return GuestTime(time.Duration(n * float64(time.Millisecond))) }
	tests := []struct {
		name    string
		lines   []string
		want    []Sound
		bounds  [][2]int
		stillOn bool
	}{
		{
			name: "KIOCSOUND on then off: a tone, then a tone and a bell of 0",
			lines: []string{
				speakerLine("beep-96", "2.506046", 2, 392),
				speakerLine("beep-96", "2.756396", 2, 0),
				speakerLine("beep-96", "2.756397", 1, 0),
			},
			want:   []Sound{{Start: ms(2506.046), End: ms(2756.396), Divisor: PITHz / 392}},
			bounds: [][2]int{{0, 1}},
		},
		{
			name: "a new tone while on ends one sound and starts the next",
			lines: []string{
				speakerLine("beep-96", "1.000000", 2, 392),
				speakerLine("beep-96", "1.250000", 2, 523),
				speakerLine("beep-96", "1.400000", 2, 0),
			},
			want: []Sound{
				{Start: ms(1000), End: ms(1250), Divisor: PITHz / 392},
				{Start: ms(1250), End: ms(1400), Divisor: PITHz / 523},
			},
			bounds: [][2]int{{0, 1}, {1, 2}},
		},
		{
			name: "the same tone again (a KDMKTONE re-arm) changes nothing; out of range is silence",
			lines: []string{
				speakerLine("knockbeepd-1", "1.000000", 2, 880),
				speakerLine("knockbeepd-1", "2.000000", 2, 880),
				speakerLine("knockbeepd-1", "2.500000", 2, 40000),
			},
			want:   []Sound{{Start: ms(1000), End: ms(2500), Divisor: PITHz / 880}},
			bounds: [][2]int{{0, 2}},
		},
		{
			name: "a bell is 1000 Hz; left on, the sound ends at the last event",
			lines: []string{
				"init-1 [000] ...1. 0.500000: sys_ioctl(fd: 3, cmd: 4b2f, arg: 0)",
				speakerLine("init-1", "1.000000", 1, 1),
				speakerLine("init-1", "1.100000", 2, 1000),
			},
			want:    []Sound{{Start: ms(1000), End: ms(1100), Divisor: PITHz / 1000}},
			bounds:  [][2]int{{1, -1}},
			stillOn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseKernelTrace(trace(tt.lines...))
			if err != nil {
				t.Fatal(err)
			}
			got, bounds, stillOn := SpeakerSounds(events)
			if !slices.Equal(got, tt.want) || !slices.Equal(bounds, tt.bounds) || stillOn != tt.stillOn {
				t.Errorf("SpeakerSounds = %v, %v, on=%v; want %v, %v, on=%v", got, bounds, stillOn, tt.want, tt.bounds, tt.stillOn)
			}
		})
	}
}

// TestSameSounds: the port trace and the kernel's speaker trace must tell
// the same sounds, or Listen refuses the boot.
func TestSameSounds(t *testing.T) {
	at := GuestTime(time.Second)
	a := Sound{Start: at, End: at.Add(time.Millisecond), Divisor: 100}
	b := Sound{Start: at, End: at.Add(time.Millisecond), Divisor: 200}
	tests := []struct {
		name            string
		ports, kernel   []Sound
		portsOn, kernOn bool
		want            string
	}{
		{name: "the same", ports: []Sound{a, b}, kernel: []Sound{a, b}},
		{name: "another count", ports: []Sound{a, b}, kernel: []Sound{a, a}, want: "sound 2 is 5965.91 Hz (count 200) in qemu's port trace but 11931.82 Hz (count 100)"},
		{name: "one missing", ports: []Sound{a, b}, kernel: []Sound{a}, want: "port trace holds 2 sounds, the guest kernel's speaker trace 1"},
		{name: "on at the end in one", ports: []Sound{a}, kernel: []Sound{a}, portsOn: true, want: "on=true in qemu's port trace but on=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sameSounds(tt.ports, tt.portsOn, tt.kernel, tt.kernOn)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("sameSounds error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
