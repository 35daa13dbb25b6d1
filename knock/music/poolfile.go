package music

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/knockbeep/knockbeep/sequence"
)

// A poolFile is an open pool file, in sequence's pool text format: the
// steps knocked in so far, kept in memory and appended to the file as they
// arrive. Its methods are safe for concurrent use: the Handle goroutine
// appends while the fsync goroutine syncs and Run closes.
//
// It holds as many steps as it is given: how many a pool may hold is
// Music's to say (Options.MaxPoolSteps, checked before each append), so
// that a reload changing that limit applies to pools already open.
//
// Durability: each append is a single write(2) of one whole line to a file
// opened with O_APPEND, so once Append returns the step survives a crash of
// the process, and a crash during the write leaves at most a torn last line,
// which openPoolFile drops with a warning. Nothing is fsynced by Append:
// when to fsync is Music's policy (see the package documentation), which
// calls Sync. openPoolFile fsyncs a file it finds empty and its directory
// once the header is written, and Close fsyncs before closing.
type poolFile struct {
	mu    sync.Mutex
	path  string
	file  *os.File
	steps []sequence.PoolStep
	line  []byte // reused buffer for one line
}

// openPoolFile opens the pool file at path, which must exist, and loads
// the steps it holds, refusing a file of more than maxPoolSteps steps (wrapping
// sequence.ErrPoolFull). A torn last line is cut off the file (so the next
// Append starts on a fresh line) and reported in the warnings. Any other
// bad line is an error: the caller moves the file aside to start afresh.
func openPoolFile(path string, maxPoolSteps int) (*poolFile, []string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("music: opening pool: %w", err)
	}
	p := &poolFile{path: path, file: f}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("music: opening pool: %w", err)
	}
	if info.Size() == 0 {
		if err := p.writeHeader(); err != nil {
			f.Close()
			return nil, nil, err
		}
		return p, nil, nil
	}
	steps, warnings, good, err := sequence.ReadPool(f, info.Size(), sequence.PoolOptions{MaxPoolSteps: maxPoolSteps})
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w (file %s)", err, path)
	}
	if good < info.Size() {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("music: cutting the torn last line off pool %s: %w", path, err)
		}
		if good == 0 { // even the header was torn
			if err := p.writeHeader(); err != nil {
				f.Close()
				return nil, nil, err
			}
		}
	}
	p.steps = steps
	return p, warnings, nil
}

func (p *poolFile) writeHeader() error {
	if _, err := p.file.Write([]byte(sequence.PoolHeader + "\n")); err != nil {
		return fmt.Errorf("music: writing pool header: %w", err)
	}
	if err := p.file.Sync(); err != nil {
		return fmt.Errorf("music: syncing new pool: %w", err)
	}
	if err := syncDir(filepath.Dir(p.path)); err != nil {
		return fmt.Errorf("music: syncing the pool's directory: %w", err)
	}
	return nil
}

// Append adds s to the pool and to the end of the file in one write(2).
func (p *poolFile) Append(s sequence.PoolStep) error {
	if err := s.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return fmt.Errorf("music: append to pool %s: pool is closed", p.path)
	}
	p.line = s.AppendPoolLine(p.line[:0])
	if _, err := p.file.Write(p.line); err != nil {
		return fmt.Errorf("music: appending to pool: %w", err)
	}
	p.steps = append(p.steps, s)
	return nil
}

// Sync fsyncs the pool file, so that every step appended so far survives a
// power loss.
//
// The fsync runs outside the pool's lock: it takes milliseconds on a busy
// disk, and a knock appending meanwhile must not wait for it (one did, once
// a second, and made the tail of knock-to-pool latency). An os.File takes
// a Write, a Sync and a Close at the same time; a Close that comes first
// makes Sync fail, which the caller ignores for a closed pool (Close
// fsyncs).
func (p *poolFile) Sync() error {
	p.mu.Lock()
	f := p.file
	p.mu.Unlock()
	if f == nil {
		return fmt.Errorf("music: sync pool %s: pool is closed", p.path)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("music: syncing pool: %w", err)
	}
	return nil
}

// Steps returns a copy of the steps appended so far, oldest first.
func (p *poolFile) Steps() []sequence.PoolStep {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sequence.PoolStep(nil), p.steps...)
}

// Len is the number of steps in the pool.
func (p *poolFile) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.steps)
}

// Path is the pool file's name, as given to openPoolFile.
func (p *poolFile) Path() string { return p.path }

// Close fsyncs and closes the file. Closing twice is harmless.
func (p *poolFile) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return nil
	}
	syncErr := p.file.Sync()
	closeErr := p.file.Close()
	p.file = nil
	if err := errors.Join(syncErr, closeErr); err != nil {
		return fmt.Errorf("music: closing pool: %w", err)
	}
	return nil
}
