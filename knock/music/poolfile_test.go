package music

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

const (
	ms     = time.Millisecond
	header = sequence.PoolHeader + "\n"
)

func tone(freq float64) sequence.PoolStep {
	return sequence.PoolStep{Kind: sequence.StepTone, Freq: freq, Length: 100 * ms}
}
func silence() sequence.PoolStep {
	return sequence.PoolStep{Kind: sequence.StepSilence, Length: 100 * ms}
}

// checkFile fails the test unless the file at path holds want; what names
// the moment, for the message.
func checkFile(t *testing.T, what, path, want string) {
	t.Helper()
	if data, err := os.ReadFile(path); err != nil || string(data) != want {
		t.Errorf("%s: pool file (-want +got):\n-%q\n+%q (%v)", what, want, data, err)
	}
}

// newPoolFile creates the pool file at path as Music does before it opens
// one, and returns path.
func newPoolFile(tb testing.TB, path string) string {
	tb.Helper()
	if _, err := createPoolFile(path); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestPoolAppendAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	p, warnings, err := openPoolFile(newPoolFile(t, path), 0)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("openPoolFile(new) = %v, %v", warnings, err)
	}
	checkFile(t, "new", path, header)
	steps := []sequence.PoolStep{silence(), tone(sequence.NoteFreq(67)), tone(sequence.NoteFreq(67)), silence(), tone(440), {Kind: sequence.StepTone, Freq: 20000, Length: 5 * time.Minute}, {Kind: sequence.StepSilence, Freq: 0, Length: time.Nanosecond}}
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
	checkFile(t, "after appends", path, want)

	p, warnings, err = openPoolFile(newPoolFile(t, path), 0)
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
	checkFile(t, "append after reopen", path, want+"tone 880 100ms\n")
	if p.Path() != path {
		t.Errorf("Path() = %q, want %q", p.Path(), path)
	}
}

func TestPoolTornLastLine(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		wantSteps []sequence.PoolStep
		wantFile  string // after openPoolFile cut the torn line and one tone was appended
	}{
		{"torn step", header + "tone 440 100ms\ntone 44", []sequence.PoolStep{tone(440)}, header + "tone 440 100ms\ntone 494 100ms\n"},
		{"a torn line that would parse is still torn", header + "tone 440 100ms\ntone 440 100m", []sequence.PoolStep{tone(440)}, header + "tone 440 100ms\ntone 494 100ms\n"},
		{"torn garbage", header + "silence 100ms\n\xff\xfe", []sequence.PoolStep{silence()}, header + "silence 100ms\ntone 494 100ms\n"},
		{"torn header", "# knockbeep mu", nil, header + "tone 494 100ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "music.pool")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			p, warnings, err := openPoolFile(newPoolFile(t, path), 0)
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
			checkFile(t, "after the next append", path, tt.wantFile)
		})
	}
}

func TestOpenPoolFileRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	content := header + "tone 440 100ms\nnonsense\ntone 440 100ms\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := openPoolFile(newPoolFile(t, path), 0)
	if err == nil || !strings.Contains(err.Error(), "pool line 3") || !strings.Contains(err.Error(), path) {
		t.Fatalf("openPoolFile = %v, want an error naming line 3 and the file", err)
	}
	checkFile(t, "refused, so unchanged", path, content)
}

func TestPoolAppendRefusesBadSteps(t *testing.T) {
	p, _, err := openPoolFile(newPoolFile(t, filepath.Join(t.TempDir(), "music.pool")), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []sequence.PoolStep{{}, {Kind: sequence.StepTone, Freq: 0, Length: ms}, {Kind: sequence.StepTone, Freq: 440, Length: 0}, {Kind: sequence.StepSilence, Freq: 440, Length: ms}, {Kind: sequence.StepSilence, Freq: 0, Length: 6 * time.Minute}, {Kind: 9, Length: ms}} {
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
	p, _, err := openPoolFile(newPoolFile(t, filepath.Join(t.TempDir(), "music.pool")), 0)
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
	p, _, err := openPoolFile(newPoolFile(t, path), 0)
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
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps, warnings, err := sequence.LoadPool(f, sequence.PoolOptions{})
	if err != nil || len(warnings) > 0 || len(steps) != 200 {
		t.Errorf("after 200 concurrent appends the file holds %d steps (%q, %v)", len(steps), warnings, err)
	}
}

// An empty file (created, then a crash before its header) gets its header;
// a missing one is an error, as Music creates every pool before opening it.
func TestOpenPoolFileEmptyOrMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, warnings, err := openPoolFile(path, 0)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("openPoolFile(empty) = %q, %v", warnings, err)
	}
	p.Close()
	checkFile(t, "empty, then opened", path, header)
	if _, _, err := openPoolFile(filepath.Join(t.TempDir(), "none.pool"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("openPoolFile(missing) = %v, want fs.ErrNotExist", err)
	}
}

// A file of more steps than the cap it is opened under is refused, as a
// pool loaded at start beyond [music] max_steps is.
func TestOpenPoolFileOverTheCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.pool")
	if err := os.WriteFile(path, []byte(header+"tone 440 100ms\nsilence 100ms\ntone 440 100ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openPoolFile(path, 2); !errors.Is(err, sequence.ErrPoolFull) || !strings.Contains(err.Error(), path) {
		t.Errorf("openPoolFile over the cap = %v, want an error wrapping ErrPoolFull naming the file", err)
	}
	p, _, err := openPoolFile(path, 3)
	if err != nil || p.Len() != 3 {
		t.Fatalf("openPoolFile at the cap = %v", err)
	}
	p.Close()
}

// BenchmarkOpenPoolFile1M opens a million-step pool file from disk.
func BenchmarkOpenPoolFile1M(b *testing.B) {
	const n = 1 << 20
	steps := make([]sequence.PoolStep, n)
	for i := range steps {
		steps[i] = tone(sequence.NoteFreq(60 + i%12))
		if i%3 == 2 {
			steps[i] = silence()
		}
	}
	var text strings.Builder
	if err := sequence.WritePool(&text, steps); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "music.pool")
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, _, err := openPoolFile(path, n)
		if err != nil || p.Len() != n {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkPoolFileAppend is the daemon's cost per step: one write(2).
func BenchmarkPoolFileAppend(b *testing.B) {
	p, _, err := openPoolFile(newPoolFile(b, filepath.Join(b.TempDir(), "music.pool")), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	s := sequence.PoolStep{Kind: sequence.StepTone, Freq: sequence.NoteFreq(67), Length: sequence.DefaultProtocol().Step}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Append(s); err != nil {
			b.Fatal(err)
		}
	}
}
