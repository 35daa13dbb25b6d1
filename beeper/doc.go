// Package beeper makes sound with the PC speaker: the Speaker back ends
// that drive it through the kernel, a WAV file writer that renders what
// the speaker would play, and the Player that plays songs on any of them
// with exact timing.
//
// # Data flow
//
// A song is a list of sequence.Tone (frequency, length, delay after), from
// a pool compiled by the daemon, a song file or beep's command line. The
// caller opens a Speaker with Open and a speaker spec, wraps it in a
// Player, and calls Play with a Song:
//
//	speaker, err := beeper.Open("auto", beeper.Options{Logger: log, WAVDir: stateDir})
//	player := beeper.NewPlayer(speaker, beeper.PlayerOptions{Logger: log})
//	res, err := player.Play(ctx, beeper.Song{Name: "pool-192.0.2.7", Tones: tones})
//	// res.WAVPath names the file when the speaker writes WAV files.
//
// The Player turns the tones into Tone(freq) calls at absolute deadlines
// on its Clock; a SelfTimed speaker (WAV files, FreeBSD's speaker(4)) is
// told durations instead and keeps time itself, so a WAV renders at disk
// speed. SignalContext cancels the context on Ctrl-C, Ctrl-Z, SIGTERM and
// SIGHUP, and the Player silences the speaker however it stops.
//
// # Back ends
//
// Speaker specs name them; Spec documents the syntax. "auto" tries, on
// Linux, evdev (an input event device with SND_TONE, found through
// /sys/class/input) and then the console (KIOCSOUND and KDMKTONE on
// /dev/tty0); on FreeBSD, speaker(4) (/dev/speaker) and then the syscons
// console; then WAV files in Options.WAVDir. It logs which it chose and
// why it passed over the others. Without a speaker driver loaded the
// console ioctls succeed and nothing sounds: Open warns about it, and
// auto skips the console then.
//
// Every device is opened once and checked, on the open file, to be a
// character device, as beep 1.4 does since CVE-2018-1000532.
//
// # Testing
//
// Package beepertest has a Recorder speaker and a fake Clock for player
// tests, and a WAV reader with a tone segmenter to check rendered files.
package beeper
