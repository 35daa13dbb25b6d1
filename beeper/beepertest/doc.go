// Package beepertest helps test code that plays sound.
//
// A Recorder is a beeper.Speaker that timestamps every call with a Clock,
// and Clock is a fake beeper.Clock that moves instantly to whatever time
// is waited for, so a song plays in no time and each call lands at a known
// instant:
//
//	clock := beepertest.NewClock(beepertest.Epoch)
//	rec := beepertest.NewRecorder(clock)
//	player := beeper.NewPlayer(rec, beeper.PlayerOptions{Clock: clock})
//	player.Play(ctx, song)
//	heard := rec.Tones(beepertest.Epoch, clock.Now()) // compare with Heard(song.Tones)
//
// ReadWAV and ReadWAVFile decode 16-bit PCM WAV files, ours or a
// recorder's such as qemu's emulated PC speaker; WAV.Segments splits the
// samples into square-wave tones and silences, measuring each tone's
// frequency from its zero crossings, and SegmentsToTones turns those back
// into tones to compare with what was meant to play.
package beepertest
