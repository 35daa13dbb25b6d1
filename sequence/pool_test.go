package sequence

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const header = PoolHeader + "\n"

func TestLoadPool(t *testing.T) {
	tests := []struct {
		name         string
		content      string
		want         []PoolStep
		wantWarnings int
	}{
		{"empty file", "", nil, 0},
		{"header only", header, nil, 0},
		{"comments, blank lines, extra blanks and CRLF", header + "# knocked by 192.0.2.1\n\n  tone   440\t100ms  \r\nsilence 0.1s\n", []PoolStep{tone(440), silence()}, 0},
		{"torn last line", header + "tone 440 100ms\nsilence 1", []PoolStep{tone(440)}, 1},
		{"header with trailing blanks", PoolHeader + " \n" + "tone 440 100ms\n", []PoolStep{tone(440)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := LoadPool(strings.NewReader(tt.content), PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || len(warnings) != tt.wantWarnings {
				t.Errorf("LoadPool (-want +got):\n  -%v, %d warnings\n  +%v, %q", tt.want, tt.wantWarnings, got, warnings)
			}
		})
	}
}

func TestLoadPoolErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		opts    PoolOptions
		want    string
		full    bool
	}{
		{"not a pool", "hello\n", PoolOptions{}, `pool line 1: "hello" is not a knockbeep pool header`, false},
		{"a newer version", "# knockbeep music pool v2\n", PoolOptions{}, `pool line 1: format version "v2" is not supported`, false},
		{"unknown step", header + "tone 440 100ms\nbeep 440 100ms\n", PoolOptions{}, `pool line 3: unknown step "beep"`, false},
		{"tone without length", header + "tone 440\n", PoolOptions{}, `pool line 2: want "tone HZ LENGTH"`, false},
		{"tone with extra field", header + "tone 440 100ms x\n", PoolOptions{}, `pool line 2: want "tone HZ LENGTH"`, false},
		{"silence with frequency", header + "silence 440 100ms\n", PoolOptions{}, `pool line 2: want "silence LENGTH"`, false},
		{"frequency not a number", header + "tone A4 100ms\n", PoolOptions{}, `pool line 2: frequency "A4" is not a number`, false},
		{"frequency 0", header + "tone 0 100ms\n", PoolOptions{}, "pool line 2: tone frequency 0 Hz out of range", false},
		{"frequency too high", header + "tone 20001 100ms\n", PoolOptions{}, "pool line 2: tone frequency 20001 Hz out of range", false},
		{"frequency NaN", header + "tone NaN 100ms\n", PoolOptions{}, "pool line 2: tone frequency NaN Hz out of range", false},
		{"length without unit", header + "silence 100\n", PoolOptions{}, `pool line 2: length "100" is not a duration`, false},
		{"length 0", header + "silence 0s\n", PoolOptions{}, "pool line 2: step length 0s out of range", false},
		{"negative length", header + "silence -1s\n", PoolOptions{}, "pool line 2: step length -1s out of range", false},
		{"length too long", header + "tone 440 6m\n", PoolOptions{}, "pool line 2: step length 6m0s out of range", false},
		{"bad line in the middle, then a torn one", header + "tone 440 100ms\nxx\ntone 4", PoolOptions{}, "pool line 3: ", false},
		{"line too long", header + "# " + strings.Repeat("x", 100) + "\n", PoolOptions{}, "pool line 2: longer than 64 bytes", false},
		{"very long line", header + strings.Repeat("x", 100000) + "\n", PoolOptions{}, "pool line 2: longer than 64 bytes", false},
		{"too many steps", header + "tone 440 100ms\nsilence 100ms\ntone 440 100ms\n", PoolOptions{MaxPoolSteps: 2}, "pool line 4: more than 2 steps", true},
		{"too many bytes", header + strings.Repeat("# padding padding padding padding padding\n", 10), PoolOptions{MaxPoolSteps: 2}, "the pool is larger than 154 bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadPool(strings.NewReader(tt.content), tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "sequence: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadPool error = %v, want one containing %q", err, tt.want)
			}
			if errors.Is(err, ErrPoolFull) != tt.full {
				t.Errorf("errors.Is(err, ErrPoolFull) = %v, want %v", !tt.full, tt.full)
			}
		})
	}
}

func FuzzLoadPool(f *testing.F) {
	for _, seed := range []string{
		"", header, header + "tone 440 100ms\nsilence 100ms\n", header + "tone 440 100ms\ntone 44",
		"# knockbeep music pool v2\n", header + "tone NaN 1ms\n", header + "# c\n\n silence 1.5s \r\n",
		header + "tone 1e3 1h\n", header + "silence 100\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		opts := PoolOptions{MaxPoolSteps: 100}
		steps, warnings, err := LoadPool(strings.NewReader(content), opts)
		if len(steps) > opts.MaxPoolSteps {
			t.Fatalf("%d steps loaded, more than the limit", len(steps))
		}
		for i, s := range steps {
			if err := s.Validate(); err != nil {
				t.Fatalf("step %d loaded though invalid: %v", i, err)
			}
		}
		if err != nil {
			return
		}
		if len(warnings) > 1 {
			t.Fatalf("%d warnings, but only the last line can be torn", len(warnings))
		}
		// Written back as Append writes it, the pool loads the same, cleanly.
		b := []byte(header)
		for _, s := range steps {
			b = s.AppendPoolLine(b)
		}
		again, warnings, err := LoadPool(strings.NewReader(string(b)), opts)
		if err != nil || len(warnings) > 0 || !reflect.DeepEqual(again, steps) {
			t.Fatalf("rewritten pool loads as %v, %q, %v; want %v", again, warnings, err, steps)
		}
	})
}

// WritePool writes what LoadPool reads back, line for line as the music
// doors append them, and refuses a step no line can hold.
func TestWritePool(t *testing.T) {
	steps := []PoolStep{silence(), tone(NoteFreq(67)), tone(440), {StepTone, 20000, 5 * time.Minute}, {StepSilence, 0, time.Nanosecond}}
	var b strings.Builder
	if err := WritePool(&b, steps); err != nil {
		t.Fatal(err)
	}
	want := header + "silence 100ms\ntone 391.99543598174927 100ms\ntone 440 100ms\ntone 20000 5m0s\nsilence 1ns\n"
	if b.String() != want {
		t.Errorf("pool text (-want +got):\n-%q\n+%q", want, b.String())
	}
	got, warnings, err := LoadPool(strings.NewReader(b.String()), PoolOptions{})
	if err != nil || len(warnings) > 0 || !reflect.DeepEqual(got, steps) {
		t.Errorf("loaded back: %v, %q, %v; want %v", got, warnings, err, steps)
	}
	for _, s := range []PoolStep{{}, {StepTone, 0, ms}, {StepTone, 440, 0}, {StepSilence, 440, ms}, {StepSilence, 0, 6 * time.Minute}, {9, 0, ms}} {
		var b strings.Builder
		if err := WritePool(&b, []PoolStep{tone(440), s}); err == nil || !strings.Contains(err.Error(), "pool step 2") {
			t.Errorf("WritePool with %+v = %v, want an error naming step 2", s, err)
		}
		if b.Len() != 0 {
			t.Errorf("WritePool with %+v wrote %q, want nothing", s, b.String())
		}
	}
}

// ReadPool says where the complete lines end: a torn last line, even one
// that would parse, is not among them.
func TestReadPoolGood(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		wantGood int
	}{
		{"whole", header + "tone 440 100ms\n", len(header + "tone 440 100ms\n")},
		{"torn step", header + "tone 440 100ms\ntone 44", len(header + "tone 440 100ms\n")},
		{"a torn line that would parse", header + "silence 100ms\nsilence 100ms", len(header + "silence 100ms\n")},
		{"torn header", "# knockbeep mu", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, good, err := ReadPool(strings.NewReader(tt.content), int64(len(tt.content)), PoolOptions{})
			if err != nil || good != int64(tt.wantGood) {
				t.Errorf("ReadPool good = %d, %v; want %d", good, err, tt.wantGood)
			}
		})
	}
}

func ExampleWritePool() {
	steps := []PoolStep{
		{Kind: StepTone, Freq: 440, Length: 100 * time.Millisecond},
		{Kind: StepSilence, Length: 100 * time.Millisecond},
	}
	if err := WritePool(os.Stdout, steps); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # knockbeep music pool v1
	// tone 440 100ms
	// silence 100ms
}
