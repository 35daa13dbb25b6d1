package beeper

import "math"

// noSpeaker discards every tone: for tests, for a daemon that should only
// archive songs, and for machines without sound.
type noSpeaker struct{}

var _ Speaker = noSpeaker{}

func (noSpeaker) Tone(float64) error { return nil }
func (noSpeaker) Range() FreqRange   { return FreqRange{Min: 0, Max: math.Inf(1)} }
func (noSpeaker) Close() error       { return nil }
func (noSpeaker) String() string     { return "none (plays nothing)" }
