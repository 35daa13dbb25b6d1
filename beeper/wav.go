package beeper

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WAV output: 16-bit PCM, one channel, at a configurable sample rate.
const (
	DefaultWAVRate = 32000 // the PC speaker's native rate in qemu: no resampling
	MinWAVRate     = 8000
	MaxWAVRate     = 192000
)

// wavAmplitude is the square wave's height: half of full scale, a square
// wave being as loud as a waveform gets.
const wavAmplitude = 1 << 14

// wavHeaderSize is the size of the canonical RIFF/WAVE header: RIFF chunk,
// a 16-byte "fmt " chunk, and the "data" chunk's header.
const wavHeaderSize = 44

// maxWAVData is the most sample data a WAV file can describe: its sizes are
// 32-bit, and the RIFF size counts 36 header bytes too.
const maxWAVData = math.MaxUint32 - (wavHeaderSize - 8)

// wavFlushSize is how much audio is buffered between writes.
const wavFlushSize = 64 << 10

// wavSpeaker renders what it is told to play into WAV files, a square
// wave as the PC speaker makes, with silences as silence. It is SelfTimed:
// nothing is written unless the Player holds a tone or silence for a
// duration, and it writes at disk speed, not in real time.
type wavSpeaker struct {
	rate int
	dir  string // one new file per song in dir, when set
	file string // else every song rewrites this file

	// The song being written; f is nil between songs.
	f      *os.File
	path   string
	buf    []byte
	frames int64         // samples rendered, buffered ones included
	held   time.Duration // song time rendered so far

	freq   float64
	toneAt int64 // the frame the current tone started at: its phase origin
}

var _ SelfTimed = (*wavSpeaker)(nil)

// openWAV returns a WAV speaker writing to path, which is either an
// existing directory (one file per song) or a file name ending in .wav
// (rewritten by every song). rate 0 means DefaultWAVRate.
func openWAV(path string, rate int) (*wavSpeaker, error) {
	if rate == 0 {
		rate = DefaultWAVRate
	}
	if rate < MinWAVRate || rate > MaxWAVRate {
		return nil, fmt.Errorf("beeper: wav: sample rate %d Hz out of range: use %d–%d", rate, MinWAVRate, MaxWAVRate)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return &wavSpeaker{rate: rate, dir: path}, nil
	case strings.EqualFold(filepath.Ext(path), ".wav") && (err == nil || errors.Is(err, fs.ErrNotExist)):
		if err == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("beeper: wav: %s exists and is not a regular file", path)
		}
		parent := filepath.Dir(path)
		if pfi, err := os.Stat(parent); err != nil || !pfi.IsDir() {
			return nil, fmt.Errorf("beeper: wav: %s: directory %s does not exist: create it first", path, parent)
		}
		return &wavSpeaker{rate: rate, file: path}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("beeper: wav: %w", err)
	case strings.HasSuffix(path, string(filepath.Separator)):
		return nil, fmt.Errorf("beeper: wav: directory %s does not exist: create it first", path)
	}
	return nil, fmt.Errorf("beeper: wav: %s is neither an existing directory nor a file name ending in .wav", path)
}

// WAVCapacity is the longest song a WAV file holds at rate samples a
// second (0: DefaultWAVRate): its sizes are 32-bit.
func WAVCapacity(rate int) time.Duration {
	if rate == 0 {
		rate = DefaultWAVRate
	}
	return time.Duration(maxWAVData/2/int64(rate)) * time.Second
}

func (w *wavSpeaker) String() string {
	if w.dir != "" {
		return "wav " + w.dir + string(filepath.Separator) + " (one file per song)"
	}
	return "wav " + w.file
}

// Range is what a square wave sampled at the rate can carry: at half the
// rate, every sample flips.
func (w *wavSpeaker) Range() FreqRange { return FreqRange{Min: 1, Max: float64(w.rate / 2)} }

func (w *wavSpeaker) Tone(freq float64) error {
	if err := checkFreq(w, freq); err != nil {
		return err
	}
	w.freq = freq
	w.toneAt = w.frames
	return nil
}

func (w *wavSpeaker) StartSong(name string) error {
	if w.f != nil {
		return fmt.Errorf("beeper: %s: a song is already being written to %s", w, w.path)
	}
	var (
		f   *os.File
		err error
	)
	if w.dir != "" {
		f, err = createUnique(w.dir, songFileName(name), ".wav")
	} else {
		f, err = os.Create(w.file)
	}
	if err != nil {
		return fmt.Errorf("beeper: wav: %w", err)
	}
	hdr := wavHeader(w.rate, 0)
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		return fmt.Errorf("beeper: wav: %w", err)
	}
	w.f, w.path = f, f.Name()
	if w.buf == nil {
		w.buf = make([]byte, 0, wavFlushSize)
	}
	w.frames, w.held, w.freq, w.toneAt = 0, 0, 0, 0
	return nil
}

// Hold renders d more of the current tone or silence. The song's sample
// count follows the total time held, so per-call rounding never adds up.
func (w *wavSpeaker) Hold(_ context.Context, d time.Duration) error {
	if w.f == nil {
		return fmt.Errorf("beeper: %s: Hold outside a song: call StartSong first", w)
	}
	if d <= 0 {
		return nil
	}
	held := w.held + d
	target := int64(held/time.Second)*int64(w.rate) + (int64(held%time.Second)*int64(w.rate)+int64(time.Second/2))/int64(time.Second)
	if target > maxWAVData/2 {
		// What was written cannot become a valid WAV file: remove it
		// rather than leave gigabytes of it behind.
		w.f.Close()
		os.Remove(w.path)
		w.f = nil
		return fmt.Errorf("beeper: %s: the song is longer than a WAV file holds (%v at %d Hz); %s removed",
			w, WAVCapacity(w.rate), w.rate, w.path)
	}
	w.held = held
	return w.render(target - w.frames)
}

// render appends n samples of the current state to the file.
func (w *wavSpeaker) render(n int64) error {
	// Sample j of a tone is in half-period ⌊j·2f/rate⌋: high in even
	// ones, low in odd ones, so every tone starts on a rising edge.
	halves := 2 * w.freq / float64(w.rate)
	j := w.frames - w.toneAt
	for n > 0 {
		room := int64((cap(w.buf) - len(w.buf)) / 2)
		k := min(n, room)
		b := w.buf[len(w.buf) : len(w.buf)+int(2*k)]
		if w.freq == 0 {
			clear(b)
		} else {
			// Fill a half-period at a time: its end is the first sample
			// whose half-period index is the next one.
			for i := 0; i < len(b); {
				half := int64(float64(j) * halves)
				end := max(int64(math.Ceil(float64(half+1)/halves)), j+1)
				v := uint16(wavAmplitude)
				if half&1 != 0 {
					v = uint16(0x10000 - wavAmplitude) // -wavAmplitude
				}
				for stop := min(i+2*int(end-j), len(b)); i < stop; i += 2 {
					binary.LittleEndian.PutUint16(b[i:], v)
					j++
				}
			}
		}
		w.buf = w.buf[:len(w.buf)+len(b)]
		w.frames += k
		n -= k
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *wavSpeaker) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.f.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("beeper: wav: %w", err)
	}
	return nil
}

// FinishSong writes what is buffered, fills in the header's sizes and
// closes the file.
func (w *wavSpeaker) FinishSong() (string, error) {
	if w.f == nil {
		return "", nil
	}
	err := w.flush()
	f, path := w.f, w.path
	w.f = nil
	hdr := wavHeader(w.rate, uint32(2*w.frames))
	if _, werr := f.WriteAt(hdr[:], 0); werr != nil && err == nil {
		err = fmt.Errorf("beeper: wav: %w", werr)
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("beeper: wav: %w", cerr)
	}
	return path, err
}

// Close finishes a song left open.
func (w *wavSpeaker) Close() error {
	w.freq = 0
	_, err := w.FinishSong()
	return err
}

// wavHeader is the 44-byte header of a 16-bit mono PCM WAV file holding
// dataBytes of samples.
func wavHeader(rate int, dataBytes uint32) [wavHeaderSize]byte {
	var h [wavHeaderSize]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], wavHeaderSize-8+dataBytes)
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	le.PutUint32(h[16:], 16)             // fmt chunk size
	le.PutUint16(h[20:], 1)              // PCM
	le.PutUint16(h[22:], 1)              // channels
	le.PutUint32(h[24:], uint32(rate))   // samples per second
	le.PutUint32(h[28:], uint32(rate*2)) // bytes per second
	le.PutUint16(h[32:], 2)              // bytes per frame
	le.PutUint16(h[34:], 16)             // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataBytes)
	return h
}

// songFileName turns a song name into a safe file name stem: letters,
// digits and ._+- kept, anything else (path separators included) made
// '_', no leading dot, at most 100 bytes; "song" when nothing is left.
func songFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._+-", c) >= 0) {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b[:min(len(b), 100)]), ".")
	if s == "" {
		return "song"
	}
	return s
}

// createUnique creates dir/stem+ext, or dir/stem-2+ext and so on when that
// exists, never overwriting a file.
func createUnique(dir, stem, ext string) (*os.File, error) {
	for i := 1; i <= 10000; i++ {
		name := stem + ext
		if i > 1 {
			name = stem + "-" + strconv.Itoa(i) + ext
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("%s: 10000 files named %s-N%s exist already", dir, stem, ext)
}
