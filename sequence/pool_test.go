package sequence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const header = PoolHeader + "\n"

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPoolAppendAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	p, warnings, err := OpenPool(path, PoolOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("OpenPool(new) = %v, %v", warnings, err)
	}
	if got := readFile(t, path); got != header {
		t.Fatalf("new pool file = %q, want just the header %q", got, header)
	}
	steps := []Step{silence(), tone(NoteFreq(67)), tone(NoteFreq(67)), silence(), tone(440), {StepTone, 20000, 5 * time.Minute}, {StepSilence, 0, time.Nanosecond}}
	for _, s := range steps {
		if err := p.Append(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	if p.Len() != len(steps) || !reflect.DeepEqual(p.Steps(), steps) {
		t.Errorf("Steps() (-want +got):\n  -%v\n  +%v", steps, p.Steps())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	want := header + "silence 100ms\ntone 391.99543598174927 100ms\ntone 391.99543598174927 100ms\nsilence 100ms\ntone 440 100ms\ntone 20000 5m0s\nsilence 1ns\n"
	if got := readFile(t, path); got != want {
		t.Errorf("pool file (-want +got):\n-%s\n+%s", want, got)
	}

	p, warnings, err = OpenPool(path, PoolOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("reopen: %v, %v", warnings, err)
	}
	defer p.Close()
	if !reflect.DeepEqual(p.Steps(), steps) {
		t.Errorf("reloaded steps (-want +got):\n  -%v\n  +%v", steps, p.Steps())
	}
	if err := p.Append(tone(880)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != want+"tone 880 100ms\n" {
		t.Errorf("append after reopen: file ends %q", got[len(got)-30:])
	}
	if p.Path() != path {
		t.Errorf("Path() = %q, want %q", p.Path(), path)
	}
}

func TestPoolTornLastLine(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		wantSteps []Step
		wantFile  string // after OpenPool cut the torn line and one tone was appended
	}{
		{"torn step", header + "tone 440 100ms\ntone 44", []Step{tone(440)}, header + "tone 440 100ms\ntone 494 100ms\n"},
		{"a torn line that would parse is still torn", header + "tone 440 100ms\ntone 440 100m", []Step{tone(440)}, header + "tone 440 100ms\ntone 494 100ms\n"},
		{"torn garbage", header + "silence 100ms\n\xff\xfe", []Step{silence()}, header + "silence 100ms\ntone 494 100ms\n"},
		{"torn header", "# knockbeep mu", nil, header + "tone 494 100ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "music.pool")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			p, warnings, err := OpenPool(path, PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if len(warnings) != 1 || !strings.Contains(warnings[0], "incomplete last line") {
				t.Errorf("warnings = %q, want one about the incomplete last line", warnings)
			}
			if !reflect.DeepEqual(p.Steps(), tt.wantSteps) {
				t.Errorf("steps (-want +got):\n  -%v\n  +%v", tt.wantSteps, p.Steps())
			}
			if err := p.Append(tone(494)); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.wantFile {
				t.Errorf("file after the next append (-want +got):\n-%q\n+%q", tt.wantFile, got)
			}
		})
	}
}

func TestLoadPool(t *testing.T) {
	tests := []struct {
		name         string
		content      string
		want         []Step
		wantWarnings int
	}{
		{"empty file", "", nil, 0},
		{"header only", header, nil, 0},
		{"comments, blank lines, extra blanks and CRLF", header + "# knocked by 192.0.2.1\n\n  tone   440\t100ms  \r\nsilence 0.1s\n", []Step{tone(440), silence()}, 0},
		{"torn last line", header + "tone 440 100ms\nsilence 1", []Step{tone(440)}, 1},
		{"header with trailing blanks", PoolHeader + " \n" + "tone 440 100ms\n", []Step{tone(440)}, 0},
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
		{"too many steps", header + "tone 440 100ms\nsilence 100ms\ntone 440 100ms\n", PoolOptions{MaxSteps: 2}, "pool line 4: more than 2 steps", true},
		{"too many bytes", header + strings.Repeat("# padding padding padding padding padding\n", 10), PoolOptions{MaxSteps: 2}, "the pool is larger than 154 bytes", true},
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

func TestOpenPoolRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	content := header + "tone 440 100ms\nnonsense\ntone 440 100ms\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenPool(path, PoolOptions{})
	if err == nil || !strings.Contains(err.Error(), "pool line 3") || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenPool = %v, want an error naming line 3 and the file", err)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("OpenPool changed a file it refused: %q", got)
	}
}

func TestPoolLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	p, _, err := OpenPool(path, PoolOptions{MaxSteps: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 2 {
		if err := p.Append(tone(440)); err != nil {
			t.Fatal(err)
		}
	}
	err = p.Append(silence())
	if !errors.Is(err, ErrPoolFull) || !strings.Contains(err.Error(), "holds 2 steps") {
		t.Errorf("Append beyond the limit = %v, want an error wrapping ErrPoolFull", err)
	}
	if p.Len() != 2 || strings.Count(readFile(t, path), "\n") != 3 {
		t.Errorf("a refused step was kept: %d steps, file %q", p.Len(), readFile(t, path))
	}
}

func TestPoolAppendRefusesBadSteps(t *testing.T) {
	p, _, err := OpenPool(filepath.Join(t.TempDir(), "music.pool"), PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Step{{}, {StepTone, 0, ms}, {StepTone, 440, 0}, {StepSilence, 440, ms}, {StepSilence, 0, 6 * time.Minute}, {9, 0, ms}} {
		if err := p.Append(s); err == nil {
			t.Errorf("Append(%+v) accepted a step no pool line can hold", s)
		}
	}
	if p.Len() != 0 {
		t.Errorf("bad steps were kept: %v", p.Steps())
	}
	p.Close()
	if err := p.Append(tone(440)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Append after Close = %v, want an error saying the pool is closed", err)
	}
}

func TestPoolStepsIsACopy(t *testing.T) {
	p, _, err := OpenPool(filepath.Join(t.TempDir(), "music.pool"), PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Append(tone(440))
	p.Steps()[0].Freq = 1
	if p.Steps()[0].Freq != 440 {
		t.Error("changing the slice from Steps changed the pool")
	}
}

func TestPoolConcurrentUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	p, _, err := OpenPool(path, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := p.Append(tone(float64(100 + g))); err != nil {
					t.Error(err)
				}
				if i%10 == 0 {
					if err := p.Sync(); err != nil {
						t.Error(err)
					}
					_ = p.Steps()
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	steps, warnings, err := LoadPool(strings.NewReader(readFile(t, path)), PoolOptions{})
	if err != nil || len(warnings) > 0 || len(steps) != 200 {
		t.Errorf("after 200 concurrent appends the file holds %d steps (%q, %v)", len(steps), warnings, err)
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
		opts := PoolOptions{MaxSteps: 100}
		steps, warnings, err := LoadPool(strings.NewReader(content), opts)
		if len(steps) > opts.MaxSteps {
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
			b = s.appendLine(b)
		}
		again, warnings, err := LoadPool(strings.NewReader(string(b)), opts)
		if err != nil || len(warnings) > 0 || !reflect.DeepEqual(again, steps) {
			t.Fatalf("rewritten pool loads as %v, %q, %v; want %v", again, warnings, err, steps)
		}
	})
}

func ExampleOpenPool() {
	dir, _ := os.MkdirTemp("", "pool-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "music.pool")

	pool, warnings, err := OpenPool(path, PoolOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(warnings), "warnings")
	for _, s := range []Step{
		{Kind: StepTone, Freq: 440, Length: 100 * time.Millisecond},
		{Kind: StepSilence, Length: 100 * time.Millisecond},
	} {
		if err := pool.Append(s); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := pool.Close(); err != nil {
		fmt.Println(err)
		return
	}

	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// 0 warnings
	// # knockbeep music pool v1
	// tone 440 100ms
	// silence 100ms
}
