// Package beepertest helps test code that plays sound.
//
// A Recorder is a beeper.Speaker that timestamps every call with a clock.
// With the Player on clocktest.Fake, which moves instantly to whatever
// time is waited for, a song plays in no time and each call lands at a
// known instant:
//
//	clock := clocktest.NewFake(beepertest.Epoch)
//	rec := beepertest.NewRecorder(clock)
//	player := beeper.NewPlayer(rec, beeper.PlayerOptions{Clock: clock})
//	player.Play(ctx, song)
//	err := rec.Check(song.Tones, beepertest.Epoch, clock.Now(), beepertest.Tolerance{})
//
// Check fails if the speaker still sounds, and otherwise compares what it
// heard with the song as a speaker makes it (Heard) through CompareTones:
// the same tones in order, each pitch, start and end within a Tolerance.
// CompareTones is the one comparison of heard and meant tones, whether
// they come from a Recorder or from a WAV file.
//
// ReadWAV and ReadWAVFile decode 16-bit PCM WAV files, ours or a
// recorder's such as qemu's emulated PC speaker; WAV.Segments splits the
// samples into square-wave tones and silences, measuring each tone's
// frequency from its zero crossings, and SegmentsToTones turns those back
// into tones to compare with what was meant to play.
package beepertest
