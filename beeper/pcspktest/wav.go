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

// boundaryPenalty is what placing a boundary one sample away from where the
// trace predicts it costs, in squared samples of half-period error: enough
// to keep the prediction between two sounds of one pitch, where the
// recording shows no boundary at all, and a small fraction of what a sample
// put in the wrong note costs between any two notes a semitone apart.
const boundaryPenalty = 0.01

// LocateSounds finds each sound of the trace in the recording. qemu writes
// nothing while the speaker is off, so the recording is the sounds joined
// end to end, but not exactly: the first comes out some tens of
// milliseconds long, the last as much short, and on a loaded host a sound
// can lose a little of its tail. So LocateSounds walks the sounds in order,
// predicts where each ends from its length in the trace, and looks up to
// window either side for the split that best parts the half periods
// between the two counts the trace says the chip had before and after it.
// It only places boundaries: MeasureFrequency then measures what each span
// holds. lag is how much longer the first sound came out than the trace
// says.
func LocateSounds(rec Recording, sounds []Sound, window time.Duration) (spans []Span, lag time.Duration) {
	at := crossings(rec.Samples)
	mids := make([]float64, max(len(at)-1, 0))
	for j := range mids {
		mids[j] = (at[j] + at[j+1]) / 2
	}
	// halfPeriod is a sound's half period in samples, as the trace has it.
	halfPeriod := func(s Sound) float64 { return float64(rec.Rate) / 2 / s.Freq() }
	samples := func(d time.Duration) int { return int(math.Round(d.Seconds() * float64(rec.Rate))) }
	total, reach := len(rec.Samples), samples(window)
	spans = make([]Span, len(sounds))
	from := 0
	for k, sound := range sounds {
		predicted := min(from+samples(sound.Length()), total)
		end := predicted
		if k+1 < len(sounds) && sounds[k+1].Divisor != sound.Divisor {
			end = bestSplit(at, mids, halfPeriod(sound), halfPeriod(sounds[k+1]),
				max(from+samples(sound.Length())/2, predicted-reach), min(predicted+reach, total), predicted)
		}
		spans[k] = Span{From: from, To: end}
		if k == 0 {
			lag = time.Duration(end-predicted) * time.Second / time.Duration(rec.Rate)
		}
		from = end
	}
	return spans, lag
}

// bestSplit picks the sample in [lo, hi] that best parts the half periods
// lying between lo and hi into a first run of halfBefore samples and a
// second of halfAfter. Moving the split past one half period g changes the
// cost by (g-halfBefore)² - (g-halfAfter)², plus the pull towards predicted.
func bestSplit(at, mids []float64, halfBefore, halfAfter float64, lo, hi, predicted int) int {
	first := sort.SearchFloat64s(mids, float64(lo))
	cost := 0.0 // relative to a split at lo, before the penalty
	best, bestCost := lo, boundaryPenalty*float64(abs(lo-predicted))
	for j := first; j < len(mids) && mids[j] <= float64(hi); j++ {
		g := at[j+1] - at[j]
		cost += (g-halfBefore)*(g-halfBefore) - (g-halfAfter)*(g-halfAfter)
		// The split goes just after this half period.
		split := min(int(math.Ceil(at[j+1])), hi)
		if c := cost + boundaryPenalty*float64(abs(split-predicted)); c < bestCost {
			best, bestCost = split, c
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
