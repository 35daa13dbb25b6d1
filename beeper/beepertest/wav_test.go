package beepertest

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// chunk is a RIFF chunk: id, then body padded to an even size.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func fmtBody(format, channels uint16, rate uint32, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, format)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(channels)*uint32(bits/8))
	b = le.AppendUint16(b, channels*bits/8)
	return le.AppendUint16(b, bits)
}

func samplesBody(s ...int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return chunk("RIFF", body)
}

// withDataSize rewrites the size of the data chunk, the file's last.
func withDataSize(file []byte, dataLen int, size uint32) []byte {
	out := slices.Clone(file)
	binary.LittleEndian.PutUint32(out[len(out)-dataLen-4:], size)
	return out
}

var monoPCM = riff(chunk("fmt ", fmtBody(1, 1, 32000, 16)), chunk("data", samplesBody(1, -2, 3)))

var readWAVTests = []struct {
	name    string
	file    []byte
	want    WAV
	wantErr string
}{
	{name: "mono 16-bit PCM", file: monoPCM, want: WAV{Rate: 32000, Channels: 1, Samples: []int16{1, -2, 3}}},
	{
		name: "stereo keeps the first channel",
		file: riff(chunk("fmt ", fmtBody(1, 2, 44100, 16)), chunk("data", samplesBody(1, 100, 2, 200, 3, 300))),
		want: WAV{Rate: 44100, Channels: 2, Samples: []int16{1, 2, 3}},
	},
	{
		name: "WAVE_FORMAT_EXTENSIBLE holding PCM",
		file: riff(chunk("fmt ", append(fmtBody(0xFFFE, 1, 48000, 16), append([]byte{22, 0, 16, 0, 4, 0, 0, 0}, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71)...)), chunk("data", samplesBody(7))),
		want: WAV{Rate: 48000, Channels: 1, Samples: []int16{7}},
	},
	{
		name: "other chunks are skipped, odd ones with their padding",
		file: riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("LIST", []byte("odd")), chunk("data", samplesBody(5, 6))),
		want: WAV{Rate: 8000, Channels: 1, Samples: []int16{5, 6}},
	},
	{
		name: "a data size of 0, left by a killed recorder, reads to the end",
		file: withDataSize(monoPCM, 6, 0),
		want: WAV{Rate: 32000, Channels: 1, Samples: []int16{1, -2, 3}, Unfinished: true},
	},
	{
		name: "a data size of 0xFFFFFFFF reads to the end",
		file: withDataSize(monoPCM, 6, 0xFFFFFFFF),
		want: WAV{Rate: 32000, Channels: 1, Samples: []int16{1, -2, 3}, Unfinished: true},
	},
	{
		name: "a trailing half sample is dropped",
		file: append(withDataSize(monoPCM, 6, 7), 9),
		want: WAV{Rate: 32000, Channels: 1, Samples: []int16{1, -2, 3}},
	},
	{name: "empty", file: nil, wantErr: "not a RIFF/WAVE file"},
	{name: "not RIFF", file: []byte("RIFX\x00\x00\x00\x00WAVE"), wantErr: "not a RIFF/WAVE file"},
	{name: "8-bit", file: riff(chunk("fmt ", fmtBody(1, 1, 8000, 8)), chunk("data", []byte{1, 2})), wantErr: "format 1 with 8-bit samples: only 16-bit PCM"},
	{name: "float", file: riff(chunk("fmt ", fmtBody(3, 1, 8000, 16)), chunk("data", []byte{1, 2})), wantErr: "format 3 with 16-bit samples"},
	{name: "no channels", file: riff(chunk("fmt ", fmtBody(1, 0, 8000, 16)), chunk("data", []byte{1, 2})), wantErr: "0 channels at 8000 Hz"},
	{name: "short fmt", file: riff(chunk("fmt ", []byte{1, 0, 1, 0}), chunk("data", []byte{1, 2})), wantErr: "fmt chunk of 4 bytes is short"},
	{name: "data before fmt", file: riff(chunk("data", []byte{1, 2}), chunk("fmt ", fmtBody(1, 1, 8000, 16))), wantErr: "data chunk before the fmt chunk"},
	{name: "no data", file: riff(chunk("fmt ", fmtBody(1, 1, 8000, 16))), wantErr: "no data chunk"},
	{name: "truncated data", file: withDataSize(monoPCM, 6, 100), wantErr: "data chunk says 100 bytes, the file has 6: truncated"},
	{name: "chunk past the end", file: withDataSize(riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("LIST", []byte("ab"))), 2, 1000), wantErr: `chunk "LIST" of 1000 bytes runs past the end`},
}

func TestReadWAV(t *testing.T) {
	for _, tt := range readWAVTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWAV(bytes.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadWAV = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rate != tt.want.Rate || got.Channels != tt.want.Channels || got.Unfinished != tt.want.Unfinished || !slices.Equal(got.Samples, tt.want.Samples) {
				t.Errorf("ReadWAV (-want +got):\n-%+v\n+%+v", tt.want, *got)
			}
		})
	}
}

// square makes n samples of a square wave of freq at rate, starting phase
// cycles into its period, with the given amplitude: an independent
// generator, so the segmenter is not only tested on beeper's output.
func square(freq float64, rate, n int, phase float64, amp int16) []int16 {
	s := make([]int16, n)
	for i := range s {
		if math.Mod(phase+float64(i)*freq/float64(rate), 1) < 0.5 {
			s[i] = amp
		} else {
			s[i] = -amp
		}
	}
	return s
}

func TestSegments(t *testing.T) {
	const rate = 32000
	silence := func(n int) []int16 { return make([]int16, n) }
	tests := []struct {
		name    string
		samples [][]int16
		want    []sequence.Tone
	}{
		{
			name:    "tone, silence, tone",
			samples: [][]int16{square(440, rate, 6400, 0, 16384), silence(3200), square(880, rate, 3200, 0, 16384)},
			want:    []sequence.Tone{{Freq: 440, Length: 200 * time.Millisecond, Delay: 100 * time.Millisecond}, {Freq: 880, Length: 100 * time.Millisecond}},
		},
		{
			name:    "leading silence",
			samples: [][]int16{silence(1600), square(1000, rate, 3200, 0, 16384)},
			want:    []sequence.Tone{{Delay: 50 * time.Millisecond}, {Freq: 1000, Length: 100 * time.Millisecond}},
		},
		{
			name: "full-scale tones joined without silence, starting mid-period, as qemu records them",
			samples: [][]int16{square(392, rate, 3200, 0.3, math.MaxInt16), square(587.33, rate, 3200, 0.8, math.MaxInt16),
				square(311.13, rate, 3200, 0.1, math.MaxInt16)},
			want: []sequence.Tone{{Freq: 392, Length: 100 * time.Millisecond}, {Freq: 587.33, Length: 100 * time.Millisecond},
				{Freq: 311.13, Length: 100 * time.Millisecond}},
		},
		{
			name:    "low-level noise is silence",
			samples: [][]int16{{3, -7, 1000, -1000, 0, 12}, square(200, rate, 3200, 0, 8192)},
			want:    []sequence.Tone{{Delay: 6 * time.Second / rate}, {Freq: 200, Length: 100 * time.Millisecond}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &WAV{Rate: rate, Channels: 1, Samples: slices.Concat(tt.samples...)}
			segs := w.Segments()
			got := SegmentsToTones(segs)
			if len(got) != len(tt.want) {
				t.Fatalf("tones (-want +got):\n-%v\n+%v\nsegments: %v", tt.want, got, segs)
			}
			for i, want := range tt.want {
				g := got[i]
				halfPeriod := time.Duration(0)
				if want.Freq > 0 {
					halfPeriod = time.Duration(float64(time.Second) / want.Freq / 2)
				}
				if math.Abs(g.Freq-want.Freq) > want.Freq*0.005 || (g.Length-want.Length).Abs() > halfPeriod+time.Second/rate ||
					(g.Delay-want.Delay).Abs() > halfPeriod+time.Second/rate {
					t.Errorf("tone %d (-want +got):\n-%.2f Hz %v %v\n+%.2f Hz %v %v", i, want.Freq, want.Length, want.Delay, g.Freq, g.Length, g.Delay)
				}
			}
		})
	}
}

func FuzzReadWAV(f *testing.F) {
	for _, tt := range readWAVTests {
		f.Add(tt.file)
	}
	f.Add(riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("data", samplesBody(square(1000, 8000, 200, 0, 9000)...))))
	f.Fuzz(func(t *testing.T, file []byte) {
		w, err := ReadWAV(bytes.NewReader(file))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "wav: ") {
				t.Errorf("error %q lacks its prefix", err)
			}
			return
		}
		if 2*len(w.Samples)*w.Channels > len(file) {
			t.Fatalf("%d samples of %d channels from a %d-byte file", len(w.Samples), w.Channels, len(file))
		}
		// The segments cover every sample, in order, without overlap.
		next := 0
		for _, s := range w.Segments() {
			if s.First != next || s.N <= 0 || s.Freq < 0 || math.IsNaN(s.Freq) {
				t.Fatalf("segment %v after sample %d", s, next)
			}
			next += s.N
		}
		if next != len(w.Samples) {
			t.Fatalf("segments cover %d of %d samples", next, len(w.Samples))
		}
	})
}
