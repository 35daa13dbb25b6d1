package songs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// FS holds every song file of this directory.
//
//go:embed *.beep *.rtttl *.mml
var FS embed.FS

// ImperialMarch is the file name of the song the original 1000/1001/1002 system played: the
// default of knockbeepd --demo.
const ImperialMarch = "imperial-march.beep"

// Read returns the embedded song called name — its file name, with or
// without the extension ("imperial-march" or "imperial-march.beep") — and
// its file name, which tells sequence.ParseSong the format.
func Read(name string) (data []byte, file string, err error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, "", fmt.Errorf("songs: %q is not a song name; embedded songs: %s", name, strings.Join(Names(), ", "))
	}
	if data, err := FS.ReadFile(name); err == nil {
		return data, name, nil
	}
	for _, file := range Names() {
		if strings.TrimSuffix(file, path.Ext(file)) == name {
			data, err := FS.ReadFile(file)
			return data, file, err
		}
	}
	return nil, "", fmt.Errorf("songs: no embedded song %q; embedded songs: %s", name, strings.Join(Names(), ", "))
}

// Names lists the embedded song files, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(FS, ".") // cannot fail: the directory is embedded
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
