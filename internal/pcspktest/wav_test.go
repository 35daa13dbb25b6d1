package pcspktest

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// square synthesises what qemu records for a sounding speaker: a
// full-scale square wave of freq hertz, sampled at rate, starting phase
// (0..1) of the way into a period.
func square(freq float64, d time.Duration, rate int, phase float64) []int16 {
	n := int(d.Seconds() * float64(rate))
	out := make([]int16, n)
	for i := range out {
		if math.Mod(float64(i)*freq/float64(rate)+phase, 1) < 0.5 {
			out[i] = math.MaxInt16
		} else {
			out[i] = math.MinInt16
		}
	}
	return out
}

func TestMeasureFrequency(t *testing.T) {
	tests := []struct {
		name  string
		freq  float64
		d     time.Duration
		phase float64
		// within is the relative error allowed: a crossing is placed
		// to half a sample, so two of them span the time to one sample.
		within float64
	}{
		{"A4 as the chip makes it", 440.13, 90 * time.Millisecond, 0, 0.0004},
		{"the marker", 3005.5, 90 * time.Millisecond, 0.3, 0.0004},
		{"low", 100.02, 290 * time.Millisecond, 0.7, 0.0002},
		{"high", 9943.2, 40 * time.Millisecond, 0.1, 0.0008},
		{"a short note", 659.22, 15 * time.Millisecond, 0.5, 0.0025},
		{"a period of exactly six samples", 16000.0 / 3, 50 * time.Millisecond, 0.25, 0.0007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MeasureFrequency(square(tt.freq, tt.d, SampleRate, tt.phase), SampleRate)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, tt.freq); e > tt.within {
				t.Errorf("measured %.3f Hz for %.3f Hz: off by %.4f%%, want within %.4f%%", got, tt.freq, e*100, tt.within*100)
			}
		})
	}
}

// TestMeasureFrequencyAcrossAJoin: where qemu joins two sounds of one
// pitch it restarts the wave, leaving one short half period.
func TestMeasureFrequencyAcrossAJoin(t *testing.T) {
	const freq = 392.11
	samples := append(square(freq, 203*time.Millisecond, SampleRate, 0), square(freq, 150*time.Millisecond, SampleRate, 0)...)
	got, err := MeasureFrequency(samples, SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(got, freq); e > 0.0002 {
		t.Errorf("measured %.3f Hz for %.3f Hz across a phase restart: off by %.4f%%", got, freq, e*100)
	}
}

func TestMeasureFrequencyNeedsAPeriod(t *testing.T) {
	for name, samples := range map[string][]int16{
		"nothing":          nil,
		"silence":          make([]int16, 1000),
		"a single edge":    append(make([]int16, 10), 100, 100, 100),
		"under one period": square(100, 12*time.Millisecond, SampleRate, 0),
	} {
		if f, err := MeasureFrequency(samples, SampleRate); err == nil {
			t.Errorf("%s: measured %g Hz, want an error", name, f)
		}
	}
}

func TestLocateSounds(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name  string
		freqs []float64
		// traced is each sound's length in the trace, recorded its
		// length in the recording.
		traced, recorded []time.Duration
	}{
		{
			name:     "qemu's usual lag",
			freqs:    []float64{3005.5, 440.13, 659.22, 622.42, 3005.5},
			traced:   []time.Duration{ms(105), ms(200), ms(150), ms(100), ms(105)},
			recorded: []time.Duration{ms(132), ms(200), ms(150), ms(100), ms(78)},
		},
		{
			name:     "no lag",
			freqs:    []float64{392.0, 311.1, 466.2},
			traced:   []time.Duration{ms(350), ms(250), ms(100)},
			recorded: []time.Duration{ms(350), ms(250), ms(100)},
		},
		{
			name:     "neighbours of one pitch",
			freqs:    []float64{3005.5, 440.13, 440.13, 200.03, 3005.5},
			traced:   []time.Duration{ms(100), ms(200), ms(200), ms(300), ms(100)},
			recorded: []time.Duration{ms(131), ms(200), ms(200), ms(300), ms(69)},
		},
		{
			name:     "tails lost on a loaded host",
			freqs:    []float64{3005.5, 392.0, 311.1, 466.2, 392.0, 3005.5},
			traced:   []time.Duration{ms(105), ms(350), ms(250), ms(100), ms(700), ms(105)},
			recorded: []time.Duration{ms(130), ms(338), ms(241), ms(97), ms(689), ms(60)},
		},
		{
			name:     "a marker that lost a third on a loaded host",
			freqs:    []float64{3005.5, 1000.15, 3005.5},
			traced:   []time.Duration{ms(180), ms(770), ms(100)},
			recorded: []time.Duration{ms(119), ms(765), ms(100)},
		},
		{
			name:     "a short note between two of one pitch",
			freqs:    []float64{3005.5, 440.13, 466.2, 440.13, 3005.5},
			traced:   []time.Duration{ms(100), ms(300), ms(100), ms(300), ms(100)},
			recorded: []time.Duration{ms(128), ms(300), ms(100), ms(290), ms(72)},
		},
		{
			name:     "losses that add up to more than any note",
			freqs:    []float64{3005.5, 392.0, 440.13, 392.0, 440.13, 392.0, 440.13, 392.0, 440.13, 3005.5},
			traced:   []time.Duration{ms(100), ms(100), ms(100), ms(100), ms(100), ms(100), ms(100), ms(100), ms(100), ms(100)},
			recorded: []time.Duration{ms(130), ms(70), ms(75), ms(80), ms(35), ms(70), ms(75), ms(80), ms(70), ms(70)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Recording{Rate: SampleRate}
			var bounds []int
			for i, f := range tt.freqs {
				bounds = append(bounds, len(rec.Samples))
				rec.Samples = append(rec.Samples, square(f, tt.recorded[i], SampleRate, 0)...)
			}
			var sounds []Sound
			at := time.Unix(1000, 0)
			for i, f := range tt.freqs {
				s := Sound{Start: at, End: at.Add(tt.traced[i]), Divisor: uint32(math.Round(PITHz / f))}
				sounds = append(sounds, s)
				at = s.End.Add(50 * time.Millisecond)
			}
			spans, lag := LocateSounds(rec, sounds)
			if want := tt.recorded[0] - tt.traced[0]; (lag - want).Abs() > time.Millisecond {
				t.Errorf("lag %v, want %v within 1ms", lag, want)
			}
			for i, span := range spans {
				// Between notes of one pitch there is nothing to find:
				// the trace's prediction stands. Elsewhere the edge
				// is known to within a half period, up to 1.6 ms here.
				if i > 0 && tt.freqs[i] != tt.freqs[i-1] && abs(span.From-bounds[i]) > 2*SampleRate/1000 {
					t.Errorf("sound %d starts at sample %d, want %d within 2ms", i+1, span.From, bounds[i])
				}
				from, to := span.From+160, span.To-160 // 5 ms in
				if to <= from {
					continue
				}
				got, err := MeasureFrequency(rec.Samples[from:to], SampleRate)
				// Crossings are placed to half a sample each.
				if err != nil || relErr(got, tt.freqs[i]) > 1.0/float64(to-from) {
					t.Errorf("sound %d measures %.2f Hz (%v) in its span, want %.2f Hz", i+1, got, err, tt.freqs[i])
				}
			}
		})
	}
}

// wavFile builds a WAV file: the RIFF header, then chunks given as id and
// body. size overrides a chunk's size field when not -1.
type chunk struct {
	id   string
	body []byte
	size int64
}

func wavFile(chunks ...chunk) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b.WriteString(c.id)
		size := uint32(len(c.body))
		if c.size >= 0 {
			size = uint32(c.size)
		}
		binary.Write(&b, binary.LittleEndian, size)
		b.Write(c.body)
		if len(c.body)%2 == 1 {
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) chunk {
	body := make([]byte, 16)
	binary.LittleEndian.PutUint16(body[0:], format)
	binary.LittleEndian.PutUint16(body[2:], channels)
	binary.LittleEndian.PutUint32(body[4:], rate)
	binary.LittleEndian.PutUint32(body[8:], rate*uint32(channels)*uint32(bits)/8)
	binary.LittleEndian.PutUint16(body[12:], channels*bits/8)
	binary.LittleEndian.PutUint16(body[14:], bits)
	return chunk{"fmt ", body, -1}
}

func dataChunk(samples ...int16) chunk {
	body := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(body[2*i:], uint16(s))
	}
	return chunk{"data", body, -1}
}

var readWAVTests = []struct {
	name    string
	file    []byte
	want    []int16
	wantErr string
}{
	{
		name: "qemu's layout",
		file: wavFile(fmtChunk(1, 1, SampleRate, 16), dataChunk(32767, -32768, 5)),
		want: []int16{32767, -32768, 5},
	},
	{
		name: "other chunks are skipped, odd ones with their pad byte",
		file: wavFile(chunk{"LIST", []byte("abc"), -1}, fmtChunk(1, 1, 8000, 16), chunk{"junk", nil, -1}, dataChunk(-1)),
		want: []int16{-1},
	},
	{
		name:    "qemu killed before it wrote the sizes",
		file:    wavFile(fmtChunk(1, 1, SampleRate, 16), chunk{"data", []byte{1, 2, 3, 4}, 0}),
		wantErr: "exit cleanly",
	},
	{
		name:    "stereo",
		file:    wavFile(fmtChunk(1, 2, SampleRate, 16), dataChunk(1, 2)),
		wantErr: "2 channels",
	},
	{
		name:    "8-bit",
		file:    wavFile(fmtChunk(1, 1, SampleRate, 8), dataChunk(1)),
		wantErr: "8-bit samples",
	},
	{
		name:    "data before fmt",
		file:    wavFile(dataChunk(1), fmtChunk(1, 1, SampleRate, 16)),
		wantErr: "data chunk before the fmt chunk",
	},
	{
		name:    "no data",
		file:    wavFile(fmtChunk(1, 1, SampleRate, 16)),
		wantErr: "no data chunk",
	},
	{
		name:    "data shorter than announced",
		file:    wavFile(fmtChunk(1, 1, SampleRate, 16), chunk{"data", []byte{1, 2}, 400}),
		wantErr: "data chunk says 400 bytes, the file has 2: truncated",
	},
	{
		name:    "not RIFF",
		file:    []byte("OggS\x00\x00\x00\x00WAVEfmt "),
		wantErr: "not a RIFF/WAVE file",
	},
	{
		name:    "empty",
		file:    nil,
		wantErr: "not a RIFF/WAVE file",
	},
}

func TestReadWAV(t *testing.T) {
	for _, tt := range readWAVTests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ReadWAV(bytes.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadWAV error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tt.want, rec.Samples) {
				t.Errorf("samples (-want +got):\n-%v\n+%v", tt.want, rec.Samples)
			}
		})
	}
}

func FuzzReadWAV(f *testing.F) {
	for _, tt := range readWAVTests {
		f.Add(tt.file)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		rec, err := ReadWAV(bytes.NewReader(file))
		if err != nil {
			return
		}
		// Samples come from the file: two bytes each, never invented.
		if 2*len(rec.Samples) > len(file) || rec.Rate <= 0 {
			t.Errorf("%d samples at %d Hz from a %d-byte file", len(rec.Samples), rec.Rate, len(file))
		}
	})
}
