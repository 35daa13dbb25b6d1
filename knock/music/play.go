package music

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// maxLoggedTones bounds the beep arguments logged for one song: only the
// first tones are formatted (about 30 bytes each), not the whole song that
// a long line would then throw away.
const maxLoggedTones = 128

// roomToPlay reports whether a play may be queued now: fewer than QueueLen
// songs wait, or none waits and none plays. Only Handle queues songs and
// Run only takes them, so the room is still there when Handle queues.
func (m *Music) roomToPlay() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue) < m.queueLen || (len(m.queue) == 0 && !m.playing)
}

func (m *Music) enqueue(s *song) {
	m.mu.Lock()
	m.queue = append(m.queue, s)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// next takes the first queued song, marking the player busy; nil when
// none waits.
func (m *Music) next() *song {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queue) == 0 {
		return nil
	}
	s := m.queue[0]
	m.queue[0] = nil
	m.queue = m.queue[1:]
	m.playing = true
	return s
}

func (m *Music) donePlaying() {
	m.mu.Lock()
	m.playing = false
	m.mu.Unlock()
}

// Run plays the queued songs one at a time, and fsyncs the pools written
// to every second, until ctx is done; then it returns nil. A song cut off
// by ctx is logged; songs still queued stay archived, unplayed (Close
// logs them). At start and after each song it deletes the oldest played
// songs beyond KeepPlayed and KeepPlayedBytes.
func (m *Music) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { m.syncPeriodically(ctx) })
	defer wg.Wait()
	m.prunePlayed()
	for ctx.Err() == nil {
		if s := m.next(); s != nil {
			m.playSong(ctx, s)
			m.donePlaying()
			m.prunePlayed()
			continue
		}
		select {
		case <-ctx.Done():
		case <-m.wake:
		}
	}
	return nil
}

// syncPeriodically fsyncs, syncInterval after a pool was written to, the
// pools appended to since their last fsync, and the directories of those
// that are new. It runs beside the player so that a long song does not
// hold up durability, and without the pools' locks, so that no knock
// waits for an fsync. With nothing written it arms no timer: an idle
// daemon wakes for nothing.
func (m *Music) syncPeriodically(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.syncWanted:
		}
		timer := m.clock.AfterFunc(syncInterval, func() {
			select {
			case m.syncDue <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-m.syncDue:
		}
		// A write from now on arms the timer again; one before the
		// fsyncs below is in them too (then the next round finds
		// nothing to do, once).
		select {
		case <-m.syncWanted:
		default:
		}
		m.syncDirty()
	}
}

func (m *Music) syncDirty() {
	m.mu.Lock()
	dirty := m.dirty
	m.dirty = nil
	m.mu.Unlock()
	var newDirs []string
	for _, p := range dirty {
		p.dirty.Store(false)
		if p.closed.Load() {
			continue
		}
		err := p.Sync()
		if err != nil && !p.closed.Load() { // closed by Run meanwhile: Close fsynced it
			m.log.Warn("music: fsync of a pool failed; its last steps may not survive a power loss", "path", p.Path(), "err", err)
			continue
		}
		m.syncs.Add(1)
		// A new file's name is durable once its directory is synced,
		// after the file itself. A pool archived meanwhile had both
		// directories synced by playSong.
		if p.created.Swap(false) && !slices.Contains(newDirs, filepath.Dir(p.Path())) {
			newDirs = append(newDirs, filepath.Dir(p.Path()))
		}
	}
	for _, dir := range newDirs {
		if err := syncDir(dir); err != nil {
			m.log.Warn("music: fsync of the pools' directory failed; a new pool may not survive a power loss", "dir", dir, "err", err)
			continue
		}
		m.dirSyncs.Add(1)
	}
}

// playSong makes the archived pool durable, compiles it, logs its beep
// arguments, plays it and puts the WAV the player wrote (if any) beside
// the archive.
func (m *Music) playSong(ctx context.Context, s *song) {
	var steps []sequence.PoolStep
	tones := s.tones
	if s.pool != nil {
		steps = s.pool.Steps()
		s.pool.closed.Store(true)
		if err := s.pool.Close(); err != nil {
			m.log.Warn("music: closing the archived pool", "archive", s.archive, "err", err)
		}
		for _, dir := range s.dirs {
			if err := syncDir(dir); err != nil {
				m.log.Warn("music: fsync of a directory failed; the archive may not survive a power loss", "dir", dir, "err", err)
			}
		}
		tones = sequence.Compile(steps)
	}
	args := sequence.FormatBeepArgs(tones[:min(len(tones), maxLoggedTones)])
	if len(tones) > maxLoggedTones {
		args += fmt.Sprintf(" ... (%d tones more)", len(tones)-maxLoggedTones)
	}
	var length time.Duration
	for _, t := range tones {
		length += t.Duration()
	}
	m.log.Info("music: playing", "src", s.src, "song", s.name, "steps", len(steps), "tones", len(tones),
		"length", length, "beep", args)

	if !s.start.IsZero() {
		// An orchestra's cue: every node starts at the same instant. The
		// song is compiled and logged first, so that only the player's
		// own start is left after the wait (the system clock ends it
		// within microseconds: clock.System).
		if err := m.clock.SleepUntil(ctx, s.start); err != nil {
			m.log.Warn("music: song not played: the daemon stopped before its start", "src", s.src, "song", s.name, "start", s.start)
			return
		}
		started := m.clock.Now()
		m.log.Info("music: started", "src", s.src, "song", s.name, "scheduled_unix_ns", strconv.FormatInt(s.start.UnixNano(), 10),
			"started_unix_ns", strconv.FormatInt(started.UnixNano(), 10), "late", started.Sub(s.start))
	}
	wav, err := m.player.Play(ctx, s.name, tones)
	if err != nil {
		m.playErrors.Add(1)
		m.log.Warn("music: playing failed", "src", s.src, "song", s.name, "err", err)
	} else {
		m.played.Add(1)
		m.log.Info("music: played", "src", s.src, "song", s.name)
	}
	if wav != "" {
		m.archiveWAV(s, wav)
	}
}

// archiveWAV puts the WAV file the player wrote beside the song's
// archived pool, as Options.WAVFiles says.
func (m *Music) archiveWAV(s *song, wav string) {
	dest := strings.TrimSuffix(s.archive, poolExt) + wavExt
	var err error
	switch m.wavFiles {
	case MoveWAV:
		err = moveFile(wav, dest)
	case LinkWAV:
		err = linkFile(wav, dest)
	case CopyWAV:
		err = copyFile(wav, dest)
	}
	if err != nil {
		m.log.Warn("music: the song's WAV is only where the speaker wrote it, not beside its archived pool", "wav", wav, "err", err)
		return
	}
	m.log.Info("music: WAV archived", "song", s.name, "wav", dest, "from", wav, "how", m.wavFiles)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// moveFile renames from to to, copying when they are on different file
// systems.
func moveFile(from, to string) error {
	if from == to {
		return nil
	}
	err := os.Rename(from, to)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if cerr := copyFile(from, to); cerr != nil {
		return errors.Join(err, cerr)
	}
	return os.Remove(from)
}

// linkFile makes to a hard link to from, or a copy where a link cannot be
// made (another file system, or one without hard links).
func linkFile(from, to string) error {
	err := os.Link(from, to)
	if err == nil {
		return nil
	}
	if cerr := copyFile(from, to); cerr != nil {
		return errors.Join(err, cerr)
	}
	return nil
}

// copyFile copies from to a new file to, synced.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	return out.Close()
}
