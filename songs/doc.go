// Package songs carries knockbeep's song files inside the binaries, so that
// knockbeepd --demo, knock --song, beep --song and the tests can play the
// Imperial March (and the other tunes of this directory) on a machine that
// has only the binary.
//
// The files themselves are plain text in the formats package sequence
// reads (beep command lines, RTTTL, MML). Read returns an embedded file's
// bytes, for sequence.ParseSong:
//
//	data, name, err := songs.Read(songs.ImperialMarch)
//	song, err := sequence.ParseSong(name, data)
//
// Load is what the commands' --song options do with their argument: parse
// the song file of that name if there is one, and otherwise the embedded
// song of that name ("imperial-march" or "imperial-march.beep").
package songs
