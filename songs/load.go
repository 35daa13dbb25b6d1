package songs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/knockbeep/knockbeep/sequence"
)

// Load reads and parses the song that knock --song and beep --song name:
// the file at name when one exists there, else the embedded song called
// name (see Read), so that "knock --song imperial-march HOST" works on a
// machine that has only the binary. A file that exists always wins, even
// when an embedded song has its name. When neither exists the error wraps
// the file's fs.ErrNotExist and lists the embedded songs.
func Load(name string) (sequence.Song, error) {
	song, err := sequence.ReadSongFile(name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return song, err
	}
	data, file, embedErr := Read(name)
	if embedErr != nil {
		return sequence.Song{}, fmt.Errorf("%w; nor is %q an embedded song (%s)", err, name, strings.Join(shortNames(), ", "))
	}
	return sequence.ParseSong(file, data)
}

// shortNames are the embedded songs as a user types them, without the
// extension.
func shortNames() []string {
	names := Names()
	for i, file := range names {
		names[i] = strings.TrimSuffix(file, path.Ext(file))
	}
	return names
}
