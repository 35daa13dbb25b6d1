// Package beepcli is the beep command: a drop-in replacement for beep 1.4
// that also plays song files and renders WAV files. cmd/beep is a small
// main around Run; tests call Run (or Env.Run, with a recording speaker,
// a fake clock and fake user IDs) directly.
//
// # Data flow
//
// Run takes its own options (--song, --wav, --wav-rate, --print) out of
// the arguments and hands the rest to sequence.ParseBeepArgs, which reads
// them exactly as beep 1.4 does. --song's argument goes to songs.Load: the
// song file of that name, or else the song of that name built into the
// binary. It refuses to run setuid or setgid, opens
// the speaker once (the -e device, which must be a character device, or
// --wav's file, or beeper's "auto" chain), and plays the notes through a
// beeper.Player. Notes with -s or -c wait for standard input, copy it to
// standard output and play once per line or byte; when rendering to WAV,
// all of it goes into one file. Cancelling the context (main does on
// SIGINT, SIGTERM, SIGHUP and SIGTSTP) silences the speaker and returns
// exit status 1, as beep does.
//
// Differences from beep 1.4: messages go to standard error, not standard
// output, so they never mix with what -s and -c copy; and running as root
// under sudo is allowed, since the console needs root.
package beepcli
