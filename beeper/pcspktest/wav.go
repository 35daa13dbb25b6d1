package pcspktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// A Recording is a mono 16-bit PCM WAV file in memory.
type Recording struct {
	Rate    int
	Samples []int16
}

// Duration is how long the recording plays.
func (r Recording) Duration() time.Duration {
	return time.Duration(len(r.Samples)) * time.Second / time.Duration(r.Rate)
}

// maxWAVSamples bounds what ReadWAV accepts: an hour at qemu's rate.
const maxWAVSamples = 3600 * SampleRate

// ReadWAV reads a RIFF WAVE file of mono signed 16-bit PCM, the format
// BootGuest asks qemu for. A data chunk whose size was never filled in means
// qemu did not exit cleanly, and is reported as such.
func ReadWAV(r io.Reader) (Recording, error) {
	var rec Recording
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return rec, fmt.Errorf("pcspktest: WAV header: %w", err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return rec, errors.New("pcspktest: not a RIFF WAVE file")
	}
	sawFormat := false
	for {
		var chunk [8]byte
		if _, err := io.ReadFull(r, chunk[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return rec, errors.New("pcspktest: WAV file has no data chunk")
			}
			return rec, fmt.Errorf("pcspktest: WAV chunk header: %w", err)
		}
		id, size := string(chunk[0:4]), binary.LittleEndian.Uint32(chunk[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return rec, fmt.Errorf("pcspktest: WAV fmt chunk of %d bytes, want 16 or a little more", size)
			}
			format := make([]byte, size)
			if _, err := io.ReadFull(r, format); err != nil {
				return rec, fmt.Errorf("pcspktest: WAV fmt chunk: %w", err)
			}
			audioFormat := binary.LittleEndian.Uint16(format[0:2])
			channels := binary.LittleEndian.Uint16(format[2:4])
			rate := binary.LittleEndian.Uint32(format[4:8])
			bits := binary.LittleEndian.Uint16(format[14:16])
			if audioFormat != 1 || channels != 1 || bits != 16 || rate == 0 || rate > 1_000_000 {
				return rec, fmt.Errorf("pcspktest: WAV is format %d, %d channels, %d bits, %d Hz; want PCM (1), mono, 16 bits (qemu's out.channels=1,out.format=s16)",
					audioFormat, channels, bits, rate)
			}
			rec.Rate = int(rate)
			sawFormat = true
			if size%2 == 1 {
				if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
					return rec, fmt.Errorf("pcspktest: WAV fmt chunk padding: %w", err)
				}
			}
		case "data":
			if !sawFormat {
				return rec, errors.New("pcspktest: WAV data chunk comes before its fmt chunk")
			}
			if size == 0 {
				return rec, errors.New("pcspktest: WAV data chunk is empty or its size was never written (qemu must exit cleanly, by the guest powering off)")
			}
			if size/2 > maxWAVSamples {
				return rec, fmt.Errorf("pcspktest: WAV data chunk of %d bytes is more than an hour", size)
			}
			data := make([]byte, size&^1)
			if _, err := io.ReadFull(r, data); err != nil {
				return rec, fmt.Errorf("pcspktest: WAV data chunk (%d bytes announced): %w", size, err)
			}
			rec.Samples = make([]int16, len(data)/2)
			for i := range rec.Samples {
				rec.Samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return rec, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size%2)); err != nil {
				return rec, fmt.Errorf("pcspktest: WAV chunk %q: %w", id, err)
			}
		}
	}
}

// crossings returns where the signal crosses the midpoint between its
// extremes, in fractional sample positions, interpolating linearly between
// the two samples on either side. For the speaker's full-scale square wave
// each crossing lies within half a sample of the true edge.
func crossings(samples []int16) []float64 {
	if len(samples) < 2 {
		return nil
	}
	lo, hi := samples[0], samples[0]
	for _, s := range samples {
		lo, hi = min(lo, s), max(hi, s)
	}
	if lo == hi {
		return nil
	}
	mid := (float64(lo) + float64(hi)) / 2
	var at []float64
	prev := float64(samples[0]) - mid
	for i := 1; i < len(samples); i++ {
		cur := float64(samples[i]) - mid
		if (prev < 0) != (cur < 0) {
			at = append(at, float64(i-1)+prev/(prev-cur))
		}
		prev = cur
	}
	return at
}

// MeasureFrequency measures the frequency of a square wave by counting its
// zero crossings: half a period lies between two neighbours, so the first
// and last crossing span (n-1)/2 periods.
func MeasureFrequency(samples []int16, rate int) (float64, error) {
	at := crossings(samples)
	if len(at) < 3 {
		return 0, fmt.Errorf("pcspktest: %d samples hold %d crossings, too few for a frequency (want a full period)", len(samples), len(at))
	}
	span := at[len(at)-1] - at[0]
	return float64(len(at)-1) / 2 / span * float64(rate), nil
}

// A Span is where one Sound lies in the recording, in samples.
type Span struct{ From, To int }

// LocateSounds finds each sound of the trace in the recording. qemu writes
// nothing while the speaker is off, so the recording is the sounds joined end
// to end, and shifted: the first comes out some tens of milliseconds long
// and the last as much short. LocateSounds tries every shift up to maxShift
// and keeps the one under which the crossings inside each span are most
// evenly spaced, i.e. the boundaries fall where the pitch changes.
func LocateSounds(rec Recording, lengths []time.Duration, maxShift time.Duration) (spans []Span, shift time.Duration) {
	at := crossings(rec.Samples)
	// gaps[j] is the half period from crossing j to j+1, at mids[j].
	n := max(len(at)-1, 0)
	mids := make([]float64, n)
	sum := make([]float64, n+1)
	sumSq := make([]float64, n+1)
	for j := 0; j < n; j++ {
		gap := at[j+1] - at[j]
		mids[j] = (at[j] + at[j+1]) / 2
		sum[j+1] = sum[j] + gap
		sumSq[j+1] = sumSq[j] + gap*gap
	}
	bounds := make([]float64, len(lengths)+1)
	for i, l := range lengths {
		bounds[i+1] = bounds[i] + l.Seconds()*float64(rec.Rate)
	}
	// spread is the summed squared deviation of the half periods from
	// their span's mean, with every boundary moved by delta samples.
	spread := func(delta float64) float64 {
		total := 0.0
		for i := 0; i+1 < len(bounds); i++ {
			from := sort.SearchFloat64s(mids, bounds[i]+delta)
			to := sort.SearchFloat64s(mids, bounds[i+1]+delta)
			if count := float64(to - from); count > 0 {
				s := sum[to] - sum[from]
				total += sumSq[to] - sumSq[from] - s*s/count
			}
		}
		return total
	}
	limit := int(maxShift.Seconds() * float64(rec.Rate))
	best, bestSpread := 0, math.Inf(1)
	for delta := -limit; delta <= limit; delta++ {
		// Ties go to the smaller shift: with no pitch change anywhere
		// every shift is as good, and none is the honest answer.
		if s := spread(float64(delta)); s < bestSpread-1e-9 || (s <= bestSpread+1e-9 && abs(delta) < abs(best)) {
			best, bestSpread = delta, s
		}
	}
	spans = make([]Span, len(lengths))
	for i := range lengths {
		spans[i] = Span{
			From: clamp(int(math.Round(bounds[i]))+best, 0, len(rec.Samples)),
			To:   clamp(int(math.Round(bounds[i+1]))+best, 0, len(rec.Samples)),
		}
	}
	return spans, time.Duration(best) * time.Second / time.Duration(rec.Rate)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func clamp(x, lo, hi int) int { return min(max(x, lo), hi) }
