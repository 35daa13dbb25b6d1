package beepertest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// A WAV is a decoded 16-bit PCM WAV file: its sample rate and the samples
// of its first channel.
type WAV struct {
	Rate     int
	Channels int
	Samples  []int16 // the first channel
	// Unfinished says the data chunk's size was never written (0 or
	// 0xFFFFFFFF): the recorder did not finish its file, so the samples
	// are whatever reached the disk.
	Unfinished bool
}

// maxWAVBytes bounds what ReadWAV accepts, so a corrupt header cannot
// make it allocate without limit.
const maxWAVBytes = 1 << 30

// ReadWAVFile reads and decodes the WAV file at path.
func ReadWAVFile(path string) (*WAV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("beepertest: %w", err)
	}
	defer f.Close()
	w, err := ReadWAV(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("beepertest: %s: %w", path, err)
	}
	return w, nil
}

// ReadWAV decodes a RIFF/WAVE file of 16-bit PCM samples (format 1, or
// WAVE_FORMAT_EXTENSIBLE holding PCM), any rate and channel count,
// skipping chunks other than "fmt " and "data".
//
// A data chunk whose size is 0 or 0xFFFFFFFF, as a recorder that was
// killed before finishing its header leaves it (qemu's wav audiodev does),
// is read to the end of the input.
func ReadWAV(r io.Reader) (*WAV, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	if len(data) > maxWAVBytes {
		return nil, fmt.Errorf("wav: larger than %d bytes", maxWAVBytes)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, errors.New("wav: not a RIFF/WAVE file")
	}
	le := binary.LittleEndian
	var (
		w       WAV
		haveFmt bool
		bits    int
	)
	for off := 12; ; {
		if len(data)-off < 8 {
			return nil, errors.New("wav: no data chunk")
		}
		id, size := string(data[off:off+4]), int64(le.Uint32(data[off+4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || int64(len(data)-body) < size {
				return nil, fmt.Errorf("wav: fmt chunk of %d bytes is short", size)
			}
			f := data[body:]
			format := le.Uint16(f[0:])
			w.Channels, w.Rate, bits = int(le.Uint16(f[2:])), int(le.Uint32(f[4:])), int(le.Uint16(f[14:]))
			if format == 0xFFFE && size >= 40 {
				format = le.Uint16(f[24:]) // the sub-format GUID starts with the format code
			}
			if format != 1 || bits != 16 {
				return nil, fmt.Errorf("wav: format %d with %d-bit samples: only 16-bit PCM is supported", format, bits)
			}
			if w.Channels < 1 || w.Rate < 1 {
				return nil, fmt.Errorf("wav: %d channels at %d Hz", w.Channels, w.Rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errors.New("wav: data chunk before the fmt chunk")
			}
			avail := int64(len(data) - body)
			switch {
			case size == 0 || size == 0xFFFFFFFF:
				size, w.Unfinished = avail, true
			case size > avail:
				return nil, fmt.Errorf("wav: data chunk says %d bytes, the file has %d: truncated", size, avail)
			}
			frame := int64(2 * w.Channels)
			samples := data[body : body+int(size-size%frame)]
			w.Samples = make([]int16, len(samples)/int(frame))
			for i := range w.Samples {
				w.Samples[i] = int16(le.Uint16(samples[int64(i)*frame:]))
			}
			return &w, nil
		}
		next := int64(body) + size + size&1 // chunks are padded to even sizes
		if next > int64(len(data)) {
			return nil, fmt.Errorf("wav: chunk %q of %d bytes runs past the end", bytes.ToValidUTF8([]byte(id), []byte("?")), size)
		}
		off = int(next)
	}
}

// Duration is how long the samples play.
func (w *WAV) Duration() time.Duration {
	return samplesToDuration(int64(len(w.Samples)), w.Rate)
}

func samplesToDuration(n int64, rate int) time.Duration {
	return time.Duration(n * int64(time.Second) / int64(rate))
}
