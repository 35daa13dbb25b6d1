package sequence

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

const benchSteps = 1_000_000

// benchPool is a pool of a million steps as knocked in: the Imperial March
// with its pitches, again and again.
func benchPool(b *testing.B) []PoolStep {
	b.Helper()
	song, err := ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p := plan.Protocol
	steps := make([]PoolStep, 0, benchSteps)
	pitch := p.DefaultFreq
	for len(steps) < benchSteps {
		for _, k := range plan.Knocks {
			switch k.Kind {
			case KnockTone:
				steps = append(steps, PoolStep{Kind: StepTone, Freq: pitch, Length: p.Step})
			case KnockSilence:
				steps = append(steps, PoolStep{Kind: StepSilence, Length: p.Step})
			case KnockPitch:
				pitch = NoteFreq(int(k.Note))
			}
			if len(steps) == benchSteps {
				break
			}
		}
	}
	return steps
}

// BenchmarkCompile1M compiles a million-step pool; the targets are at most
// 200 ms and 64 MiB (see B/op).
func BenchmarkCompile1M(b *testing.B) {
	steps := benchPool(b)
	b.ReportAllocs()
	b.ResetTimer()
	var tones []Tone
	for b.Loop() {
		tones = Compile(steps)
	}
	b.ReportMetric(float64(len(tones)), "tones")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}

// BenchmarkFormatBeepArgs1M renders the compiled million-step pool as beep
// arguments.
func BenchmarkFormatBeepArgs1M(b *testing.B) {
	tones := Compile(benchPool(b))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		FormatBeepArgs(tones)
	}
}

func benchPoolFile(b *testing.B) []byte {
	buf := []byte(PoolHeader + "\n")
	for _, s := range benchPool(b) {
		buf = s.AppendPoolLine(buf)
	}
	return buf
}

// BenchmarkLoadPool1M parses a million-step pool file held in memory.
func BenchmarkLoadPool1M(b *testing.B) {
	data := benchPoolFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		steps, warnings, err := LoadPool(bytes.NewReader(data), PoolOptions{})
		if err != nil || len(warnings) > 0 || len(steps) != benchSteps {
			b.Fatalf("%d steps, %q, %v", len(steps), warnings, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}

func benchParse(b *testing.B, file string, parse func(string) error) {
	data, err := os.ReadFile(filepath.Join("..", "songs", file))
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBeepImperialMarch(b *testing.B) {
	benchParse(b, "imperial-march.beep", func(s string) error { _, err := ParseBeep(s); return err })
}

func BenchmarkParseRTTTLFurElise(b *testing.B) {
	benchParse(b, "fur-elise.rtttl", func(s string) error { _, err := ParseRTTTL(s); return err })
}

func BenchmarkParseMMLMinuet(b *testing.B) {
	benchParse(b, "minuet-in-g.mml", func(s string) error { _, err := ParseMML(s); return err })
}

func BenchmarkComposeImperialMarch(b *testing.B) {
	song, err := ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
