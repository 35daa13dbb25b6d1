package music

import (
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// archiveTimeLayout is the time stamp that starts an archived song's
// name: UTC to the millisecond, so that names sort by time.
const archiveTimeLayout = "20060102T150405.000Z"

// An archivedSong is the files of one song under played/: its pool and,
// when the speaker wrote one, its WAV.
type archivedSong struct {
	stem  string // TIME_ADDR[-N]: the file names without their extension
	files []string
	bytes int64
}

// olderSong orders archived songs oldest first: by their time stamp, then
// "-2" after the name without it and "-10" after "-9" (a shorter name of
// the same time stamp was taken first), then by name.
func olderSong(a, b *archivedSong) int {
	if c := cmp.Compare(a.stem[:len(archiveTimeLayout)], b.stem[:len(archiveTimeLayout)]); c != 0 {
		return c
	}
	if c := cmp.Compare(len(a.stem), len(b.stem)); c != 0 {
		return c
	}
	return cmp.Compare(a.stem, b.stem)
}

// isArchiveStem reports whether stem is an archived song's name as
// archive makes it. Other files under played/ are not Music's to delete.
func isArchiveStem(stem string) bool {
	_, _, ok := ParseArchiveName(stem)
	return ok
}

// ParseArchiveName reads an archived song's file name without its
// extension, TIME_SOURCE[-N]: when it was played and by whom. ok is false
// for a name the music doors did not make.
func ParseArchiveName(stem string) (when time.Time, source string, ok bool) {
	if len(stem) <= len(archiveTimeLayout) || stem[len(archiveTimeLayout)] != '_' {
		return time.Time{}, "", false
	}
	when, err := time.Parse(archiveTimeLayout, stem[:len(archiveTimeLayout)])
	if err != nil {
		return time.Time{}, "", false
	}
	return when, stem[len(archiveTimeLayout)+1:], true
}

// archivedSongs lists the songs under played/ other than those in skip,
// oldest first.
func (m *Music) archivedSongs(skip map[string]bool) ([]*archivedSong, error) {
	entries, err := os.ReadDir(m.playedDir)
	if err != nil {
		return nil, err
	}
	byStem := make(map[string]*archivedSong)
	var songs []*archivedSong
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		if (ext != poolExt && ext != wavExt) || !e.Type().IsRegular() || !isArchiveStem(stem) || skip[stem] {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile, by an administrator
		}
		if err != nil {
			return nil, err
		}
		s := byStem[stem]
		if s == nil {
			s = &archivedSong{stem: stem}
			byStem[stem] = s
			songs = append(songs, s)
		}
		s.files = append(s.files, filepath.Join(m.playedDir, name))
		s.bytes += info.Size()
	}
	slices.SortFunc(songs, olderSong)
	return songs, nil
}

// prunePlayed deletes the oldest songs under played/, pool and WAV, until
// at most KeepPlayed songs of at most KeepPlayedBytes bytes in all are
// left, so that knocking songs over and over cannot fill the disk. Songs
// queued or playing are neither counted nor deleted. It runs in Run's
// goroutine: at start and after each song.
func (m *Music) prunePlayed() {
	m.archiving.Lock()
	defer m.archiving.Unlock()
	m.mu.Lock()
	keep, keepBytes := m.keepPlayed, m.keepPlayedBytes
	skip := make(map[string]bool, len(m.queue))
	for _, s := range m.queue {
		skip[s.name] = true
	}
	m.mu.Unlock()

	songs, err := m.archivedSongs(skip)
	if err != nil {
		m.log.Warn("music: cannot list the played songs to delete the oldest; played/ may grow past [music] keep_played",
			"dir", m.playedDir, "err", err)
		return
	}
	var total int64
	for _, s := range songs {
		total += s.bytes
	}
	var deleted int
	var freed int64
	var from, to string
	for len(songs) > keep || (total > keepBytes && len(songs) > 0) {
		s := songs[0]
		songs = songs[1:]
		total -= s.bytes
		var errs []error
		for _, f := range s.files {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			m.log.Warn("music: cannot delete an old played song", "song", s.stem, "err", err)
			continue
		}
		if deleted == 0 {
			from = s.stem
		}
		to = s.stem
		deleted++
		freed += s.bytes
	}
	if deleted == 0 {
		return
	}
	m.deleted.Add(uint64(deleted))
	m.log.Info("music: deleted the oldest played songs ([music] keep_played, keep_played_mib)",
		"deleted", deleted, "from", from, "to", to, "freed_bytes", freed,
		"kept", len(songs), "kept_bytes", total)
}
