package pcspktest

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// at is a host time in the sample trace: seconds.microseconds.
func at(sec, usec int64) time.Time { return time.Unix(sec, usec*1000) }

// TestParseTraceSample reads a real trace, cut down to its timer and speaker
// lines and every thousandth other line. It was made by a guest that played,
// through KIOCSOUND on /dev/tty0: the 3000 Hz marker, then 440 Hz 200 ms +
// 100 ms silence, 440 Hz 200 ms, 659.26 Hz 150 ms + 50 ms, 622.26 Hz
// 100 ms + 100 ms, 3000 Hz 100 ms + 100 ms, 200 Hz 300 ms, then the
// marker again. The counts below are the bytes written to port 0x42, read
// by hand; KIOCSOUND rounds twice, so 659.26 Hz is count 1810, not 1809.
func TestParseTraceSample(t *testing.T) {
	f, err := os.Open("testdata/trace-devtones.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writes, err := ParseTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(writes) != 54 {
		t.Errorf("ParseTrace found %d timer and speaker writes, want the sample's 54", len(writes))
	}
	sounds, stillOn := Sounds(writes)
	want := []Sound{
		{Start: at(1795243388, 581574), End: at(1795243388, 686772), Divisor: 397},
		{Start: at(1795243389, 2923), End: at(1795243389, 203730), Divisor: 2711},
		// 440 Hz runs straight into 659.26 Hz: the new count ends it, once
		// its high byte is in.
		{Start: at(1795243389, 305798), End: at(1795243389, 503532), Divisor: 2711},
		{Start: at(1795243389, 503532), End: at(1795243389, 653843), Divisor: 1810},
		{Start: at(1795243389, 704786), End: at(1795243389, 802512), Divisor: 1918},
		{Start: at(1795243389, 902570), End: at(1795243390, 2475), Divisor: 397},
		{Start: at(1795243390, 102904), End: at(1795243390, 401957), Divisor: 5965},
		{Start: at(1795243390, 617081), End: at(1795243390, 722880), Divisor: 397},
	}
	if !reflect.DeepEqual(want, sounds) {
		t.Errorf("Sounds (-want +got):\n-%v\n+%v", want, sounds)
	}
	if stillOn {
		t.Error("Sounds says the speaker is still on at the end; the sample ends with it off")
	}
}

func TestSounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	w := func(n int, port uint16, value uint8) PortWrite { return PortWrite{At: ms(n), Port: port, Value: value} }
	// program is what Linux's pcspkr writes for a count: mode 3 on
	// channel 2, low byte, high byte, then gate and data on.
	program := func(n int, count uint16) []PortWrite {
		return []PortWrite{w(n, 0x43, 0xB6), w(n, 0x42, uint8(count)), w(n, 0x42, uint8(count>>8)), w(n, 0x61, 0x03)}
	}
	cat := func(parts ...[]PortWrite) []PortWrite {
		var all []PortWrite
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name        string
		writes      []PortWrite
		want        []Sound
		wantStillOn bool
	}{
		{
			name:   "one tone",
			writes: cat(program(0, 2711), []PortWrite{w(200, 0x61, 0x00)}),
			want:   []Sound{{Start: ms(0), End: ms(200), Divisor: 2711}},
		},
		{
			name: "gate without data is the kernel timing the chip, not a sound",
			writes: []PortWrite{
				w(0, 0x61, 0x01), w(0, 0x43, 0xB0), w(0, 0x42, 0xFF), w(0, 0x42, 0xFF), w(50, 0x61, 0x00),
			},
		},
		{
			name: "channel 0 writes leave channel 2 alone",
			writes: cat([]PortWrite{w(0, 0x43, 0x34), w(0, 0x40, 0x00), w(0, 0x40, 0x00)},
				program(10, 397), []PortWrite{w(0, 0x43, 0x34), w(20, 0x40, 0x12), w(30, 0x61, 0x00)}),
			want: []Sound{{Start: ms(10), End: ms(30), Divisor: 397}},
		},
		{
			name: "a new count while sounding splits the sound with no silence",
			writes: cat(program(0, 2711), program(100, 1810), program(150, 2711),
				[]PortWrite{w(300, 0x61, 0x00)}),
			want: []Sound{
				{Start: ms(0), End: ms(100), Divisor: 2711},
				{Start: ms(100), End: ms(150), Divisor: 1810},
				{Start: ms(150), End: ms(300), Divisor: 2711},
			},
		},
		{
			name:   "the same count again (the console re-arming KDMKTONE) is one sound",
			writes: cat(program(0, 1357), program(1000, 1357), program(2000, 1357), []PortWrite{w(2200, 0x61, 0x00)}),
			want:   []Sound{{Start: ms(0), End: ms(2200), Divisor: 1357}},
		},
		{
			name: "a count latch does not disturb the low/high order",
			writes: []PortWrite{
				w(0, 0x43, 0xB6), w(0, 0x42, 0x97), w(0, 0x43, 0x80), w(0, 0x42, 0x0A), w(0, 0x61, 0x03), w(10, 0x61, 0x00),
			},
			want: []Sound{{Start: ms(0), End: ms(10), Divisor: 2711}},
		},
		{
			name: "low-byte-only access mode",
			writes: []PortWrite{
				w(0, 0x43, 0x96), w(0, 0x42, 0x64), w(0, 0x61, 0x03), w(10, 0x61, 0x00),
			},
			want: []Sound{{Start: ms(0), End: ms(10), Divisor: 100}},
		},
		{
			name: "high-byte-only access mode",
			writes: []PortWrite{
				w(0, 0x43, 0xA6), w(0, 0x42, 0x02), w(0, 0x61, 0x03), w(10, 0x61, 0x00),
			},
			want: []Sound{{Start: ms(0), End: ms(10), Divisor: 512}},
		},
		{
			name:   "count 0 is 65536",
			writes: cat(program(0, 0), []PortWrite{w(10, 0x61, 0x00)}),
			want:   []Sound{{Start: ms(0), End: ms(10), Divisor: 65536}},
		},
		{
			name:        "still on at the end",
			writes:      cat(program(0, 397), []PortWrite{w(40, 0x80, 0x00)}),
			want:        []Sound{{Start: ms(0), End: ms(40), Divisor: 397}},
			wantStillOn: true,
		},
		{
			name:   "data bit cleared alone silences",
			writes: cat(program(0, 397), []PortWrite{w(40, 0x61, 0x01)}),
			want:   []Sound{{Start: ms(0), End: ms(40), Divisor: 397}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stillOn := Sounds(tt.writes)
			if !reflect.DeepEqual(tt.want, got) || stillOn != tt.wantStillOn {
				t.Errorf("Sounds (-want +got):\n-%v still on %v\n+%v still on %v", tt.want, tt.wantStillOn, got, stillOn)
			}
		})
	}
}

var traceLineTests = []struct {
	name    string
	line    string
	want    []PortWrite
	wantErr string
}{
	{
		name: "speaker on",
		line: "14924@1795243323.183249:memory_region_ops_write cpu 0 mr 0x5644c1817070 addr 0x61 value 0x33 size 1 name 'pcspk'",
		want: []PortWrite{{At: at(1795243323, 183249), Port: 0x61, Value: 0x33}},
	},
	{
		name: "timer count",
		line: "14924@1795243323.183227:memory_region_ops_write cpu 0 mr 0x5644c17df0b0 addr 0x42 value 0x8d size 1 name 'pit'",
		want: []PortWrite{{At: at(1795243323, 183227), Port: 0x42, Value: 0x8d}},
	},
	{
		name: "timer address as an offset into its region",
		line: "1@5.000001:memory_region_ops_write cpu 0 mr 0x1 addr 0x3 value 0xb6 size 1 name 'pit'",
		want: []PortWrite{{At: at(5, 1), Port: 0x43, Value: 0xb6}},
	},
	{
		name: "other devices are skipped",
		line: "14922@1795243316.874468:memory_region_ops_write cpu -1 mr 0x5644c17db5e0 addr 0xfee00000 value 0x0 size 4 name 'apic-msi'",
	},
	{
		name: "other log lines are skipped",
		line: "qemu-system-x86_64: warning: something about 'pit'",
	},
	{
		name:    "no timestamps",
		line:    "memory_region_ops_write cpu 0 mr 0x5644c1817070 addr 0x61 value 0x33 size 1 name 'pcspk'",
		wantErr: "-msg timestamp=on",
	},
	{
		name:    "bad microseconds",
		line:    "1@5.1:memory_region_ops_write cpu 0 mr 0x1 addr 0x61 value 0x3 size 1 name 'pcspk'",
		wantErr: "seconds.microseconds",
	},
	{
		name:    "value not a number",
		line:    "1@5.000001:memory_region_ops_write cpu 0 mr 0x1 addr 0x61 value 0xzz size 1 name 'pcspk'",
		wantErr: `value "0xzz" is not a number`,
	},
	{
		name:    "a word write",
		line:    "1@5.000001:memory_region_ops_write cpu 0 mr 0x1 addr 0x61 value 0x303 size 2 name 'pcspk'",
		wantErr: "take bytes",
	},
	{
		name:    "missing size",
		line:    "1@5.000001:memory_region_ops_write cpu 0 mr 0x1 addr 0x61 value 0x3 name 'pcspk'",
		wantErr: "want the fields",
	},
	{
		name:    "timer port out of range",
		line:    "1@5.000001:memory_region_ops_write cpu 0 mr 0x1 addr 0x48 value 0x3 size 1 name 'pit'",
		wantErr: "not a timer port",
	},
}

func TestParseTraceLines(t *testing.T) {
	for _, tt := range traceLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrace(strings.NewReader("noise\n" + tt.line + "\n"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "line 2") {
					t.Fatalf("ParseTrace error %v, want one on line 2 containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("ParseTrace (-want +got):\n-%v\n+%v", tt.want, got)
			}
		})
	}
}

func FuzzParseTrace(f *testing.F) {
	for _, tt := range traceLineTests {
		f.Add(tt.line)
	}
	f.Add("1@5.000001:memory_region_ops_write addr 0x61 value 0x3 size 1 addr 0x1 name 'pcspk'")
	f.Fuzz(func(t *testing.T, line string) {
		writes, err := ParseTrace(strings.NewReader(line))
		if err != nil {
			return
		}
		for _, w := range writes {
			if w.Port != 0x61 && (w.Port < 0x40 || w.Port > 0x43) {
				t.Errorf("ParseTrace gave port %#x, not a timer or speaker port", w.Port)
			}
		}
		// Whatever parses must replay without trouble, into sounds
		// that never end before they start.
		sounds, _ := Sounds(writes)
		for _, s := range sounds {
			if s.End.Before(s.Start) || s.Divisor < 1 || s.Divisor > 65536 {
				t.Errorf("impossible sound %v", s)
			}
		}
	})
}

func (s Sound) String() string {
	return fmt.Sprintf("{%s–%s count %d}", s.Start.Format("05.000000"), s.End.Format("05.000000"), s.Divisor)
}
