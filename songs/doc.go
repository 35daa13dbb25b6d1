// Package songs carries knockbeep's song files inside the binaries, so that
// knockbeepd --demo and the tests can play the Imperial March (and the
// other tunes of this directory) on a machine that has only the binary.
//
// The files themselves are plain text in the formats package sequence
// reads (beep command lines, RTTTL, MML); this package only embeds them.
// Read one with Read, and parse it with sequence.ParseSong:
//
//	data, name, err := songs.Read(songs.ImperialMarch)
//	song, err := sequence.ParseSong(name, data)
package songs
