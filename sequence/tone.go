package sequence

import "time"

// A Tone is one note as beep plays it: a square wave at Freq hertz for
// Length, then silence for Delay before whatever comes next.
//
// A Tone with Length 0 sounds nothing; a compiled pool that starts with
// silence keeps it as such a tone, so that the silence survives the trip
// through beep's arguments ("-l 0 -D 300").
type Tone struct {
	Freq   float64
	Length time.Duration
	Delay  time.Duration
}

// Duration is how long the tone takes, its delay included.
func (t Tone) Duration() time.Duration { return t.Length + t.Delay }
