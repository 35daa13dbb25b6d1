// Package sequence is knockbeep's music domain, in pure Go with no system
// calls beyond reading song files: notes, the pool text format of
// knocked-in steps and its reader, compiling a pool into tones and beep
// arguments, the song formats, and composing a song into the knocks of the
// music protocol.
//
// # How music flows
//
// On the daemon's side, each knock of the music protocol (see Protocol and
// DefaultProtocol) is classified by Protocol.Classify and becomes one
// PoolStep appended to the pool file of the knocking source, which
// knock/music owns (opening, appending, fsync and the step cap are its).
// The play knock compiles the pool's steps into Tones (Compile), which a
// beeper.Player sounds, or which FormatBeepArgs prints as the arguments of
// one run of beep 1.4.
//
// On the client's side, a song file (ReadSongFile: beep command lines,
// RTTTL or MML) gives Tones, and Compose turns them into a Plan: the knocks
// to send, in order. With pitch knocks the first tone always gets one, so
// the tune does not depend on the daemon's default frequency (its
// default_freq) being the one the client assumes; without them the song is
// rhythm only, at the daemon's default. Plan.Expected simulates the
// daemon's pool to show what will be played; Plan.Summary prints the plan
// for a person.
//
// The beep command (cmd/beep) parses its own arguments with ParseBeepArgs,
// the same parser the beep song format uses line by line.
//
// # The pool file
//
// A pool is a text file, appended to and never rewritten, one step per
// line. Its first line names the format and its version:
//
//	# knockbeep music pool v1
//	silence 100ms
//	tone 391.99543598174927 100ms
//	tone 391.99543598174927 100ms
//	silence 100ms
//	tone 440 100ms
//
// "tone HZ LENGTH" sounds HZ hertz (a decimal number above 0, at most
// 20000, written with as many digits as it takes to be exact), "silence
// LENGTH" is quiet; LENGTH is a Go duration ("100ms", "1.5s"), above 0 and
// at most 5m. Fields are separated by blanks. Blank lines and lines
// starting with "#" after the first are comments. Every line, the last
// included, ends with a newline.
//
// PoolStep.AppendPoolLine makes one step's line, which the pool's writer
// appends with a single write(2) so that a crash tears at most the last
// line; WritePool writes a whole pool at once.
//
// Reading (LoadPool, ReadPool) drops a last line that has no newline —
// what a crash in the middle of a write leaves — with a warning, and
// ReadPool says where the complete lines end, so that the writer can cut
// the torn line off and start the next step on a line of its own. Any
// other bad line is an error naming its line number. Reading takes at most
// PoolOptions.MaxPoolSteps steps (MaxPlanSteps, 1048576, unless set) and 64
// bytes a step: beyond that it fails with an error wrapping ErrPoolFull.
//
// # Song formats
//
// ParseSong chooses the format from the file name's extension or, failing
// that, the content. ParseBeep reads beep command lines, ParseRTTTL ring
// tones, ParseMML Music Macro Language (GW-BASIC PLAY and FreeBSD
// speaker(4) strings; its doc states the octave convention). Every error
// names the line and column of the problem.
package sequence
