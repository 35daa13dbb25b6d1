package sequence

import (
	"math"
	"strconv"
	"time"
)

// Compile turns pool steps into the tones that play them:
//
//   - consecutive tone steps at one frequency are one tone, their lengths
//     added;
//   - a silence step adds its length to the Delay of the tone before it;
//   - silence before the first tone is kept as a tone of Length 0 (and
//     Freq 0) whose Delay is that silence.
//
// A tone step after a silence starts a new tone even at the same
// frequency, so the rhythm survives. Compile allocates the result once.
func Compile(steps []PoolStep) []Tone {
	tones := make([]Tone, 0, countTones(steps))
	for _, s := range steps {
		last := len(tones) - 1
		switch s.Kind {
		case StepTone:
			if last >= 0 && tones[last].Delay == 0 && tones[last].Length > 0 && tones[last].Freq == s.Freq {
				tones[last].Length += s.Length
				continue
			}
			tones = append(tones, Tone{Freq: s.Freq, Length: s.Length})
		case StepSilence:
			if last < 0 {
				tones = append(tones, Tone{Delay: s.Length})
				continue
			}
			tones[last].Delay += s.Length
		}
	}
	return tones
}

// countTones is how many tones Compile makes of steps: the same walk,
// keeping only the last tone.
func countTones(steps []PoolStep) int {
	n := 0
	var last Tone
	for _, s := range steps {
		switch s.Kind {
		case StepTone:
			if n > 0 && last.Delay == 0 && last.Length > 0 && last.Freq == s.Freq {
				last.Length += s.Length
				continue
			}
			last = Tone{Freq: s.Freq, Length: s.Length}
			n++
		case StepSilence:
			if n == 0 {
				last = Tone{Delay: s.Length}
				n++
				continue
			}
			last.Delay += s.Length
		}
	}
	return n
}

// Limits of beep 1.4's arguments.
const (
	beepMaxMillis = 300000 // -l, -d, -D and -r
	beepMaxFreq   = 20000  // -f
)

// FormatBeepArgs renders tones as the arguments of one beep 1.4 run that
// plays them: "-f 440 -l 300 -D 100 -n -f 494 -l 200". Each tone gives
// "-f HZ -l MS", then "-D MS" when a silence follows it; "-n" separates
// tones, and equal tones in a row become one with "-r". No tones give "".
//
// beep takes whole milliseconds, so tone boundaries are rounded to the
// millisecond on the song's own clock (the error never builds up over a
// song). beep rounds the frequency to a whole hertz itself; it is written
// with at most two decimals. Where beep's ranges demand it:
//
//   - a tone or silence longer than 300000 ms is split: "-l 300000 -r N -d 0"
//     for the whole parts, then the rest as a new tone;
//   - a tone of Length 0 has no -f (it sounds nothing);
//   - a tone whose frequency is below 0.5 Hz, or not a number, is written
//     as silence, since beep would play "-f 0" as 440 Hz; frequencies above
//     20000 Hz are written as 20000.
func FormatBeepArgs(tones []Tone) string {
	var f beepArgsFormatter
	for _, t := range tones {
		f.tone(t)
	}
	f.flush()
	return string(f.out)
}

type beepArgsFormatter struct {
	out     []byte
	at      time.Duration // where the song's clock is, unrounded
	pending beepGroup     // the last tone, not yet written: the next may repeat it
}

// A beepGroup is one tone of beep's arguments, repetitions included.
type beepGroup struct {
	freq                float64
	length, reps, delay int64
	delayAfter          bool
}

// millisAt rounds a point on the song's clock to whole milliseconds.
func millisAt(d time.Duration) int64 {
	return int64((d + time.Millisecond/2) / time.Millisecond)
}

func (f *beepArgsFormatter) tone(t Tone) {
	start := f.at
	soundEnd := start + max(t.Length, 0)
	end := soundEnd + max(t.Delay, 0)
	f.at = end
	length := millisAt(soundEnd) - millisAt(start)
	delay := millisAt(end) - millisAt(soundEnd)
	freq := t.Freq
	if !(freq >= 0.5) { // NaN too: beep cannot sound it, keep its time as silence
		delay += length
		length = 0
	}
	if freq > beepMaxFreq {
		freq = beepMaxFreq
	}
	if length == 0 && delay == 0 && t.Length <= 0 && t.Delay <= 0 {
		return // nothing to play, nothing to wait for
	}
	if length == 0 {
		f.note(0, 0, delay)
		return
	}
	f.note(freq, length, delay)
}

// note writes one tone that may exceed beep's 300000 ms limits.
func (f *beepArgsFormatter) note(freq float64, length, delay int64) {
	if length > beepMaxMillis {
		whole := (length - 1) / beepMaxMillis // leave 1..300000 ms for the last part
		f.repeat(freq, beepMaxMillis, whole, 0, false)
		length -= whole * beepMaxMillis
	}
	if delay <= beepMaxMillis {
		f.group(freq, length, 1, delay, delay > 0)
		return
	}
	f.group(freq, length, 1, beepMaxMillis, true)
	delay -= beepMaxMillis
	whole := delay / beepMaxMillis
	f.repeat(0, 0, whole, beepMaxMillis, true)
	if rest := delay - whole*beepMaxMillis; rest > 0 {
		f.group(0, 0, 1, rest, true)
	}
}

// repeat writes count equal tones, in groups of at most beep's 300000
// repetitions.
func (f *beepArgsFormatter) repeat(freq float64, length, count, delay int64, delayAfter bool) {
	for count > 0 {
		reps := min(count, beepMaxMillis)
		f.group(freq, length, reps, delay, delayAfter)
		count -= reps
	}
}

// appendBeepFreq writes freq with the fewest decimals, two at least when
// it has any, that beep still rounds to the whole hertz nearest freq: beep
// reads a C float and adds ½, so "92.5" for 92.4986 Hz would play 93 Hz.
func appendBeepFreq(b []byte, freq float64) []byte {
	want := math.Floor(freq + 0.5)
	var buf [32]byte
	for _, scale := range []float64{100, 1e4, 1e6} {
		text := strconv.AppendFloat(buf[:0], math.Round(freq*scale)/scale, 'f', -1, 64)
		if v, err := strconv.ParseFloat(string(text), 32); err == nil && beepRoundFreq(float32(v)) == want {
			return append(b, text...)
		}
	}
	return strconv.AppendFloat(b, want, 'f', -1, 64)
}

// beepRoundFreq is the frequency beep 1.4 plays for -f v: (int)(v + 0.5f).
func beepRoundFreq(v float32) float64 {
	return float64(int32(v + 0.5))
}

// group adds one beep tone, as a repetition of the tone before when it
// plays the same after the same silence: "-r 3 -D 100" for three equal
// beats.
func (f *beepArgsFormatter) group(freq float64, length, reps, delay int64, delayAfter bool) {
	if delay == 0 {
		delayAfter = false
	}
	p := &f.pending
	if p.reps > 0 && p.freq == freq && p.length == length && p.delay == delay &&
		(delay == 0 || p.delayAfter) && p.reps+reps <= beepMaxMillis {
		p.reps += reps
		p.delayAfter = delayAfter
		return
	}
	if p.reps > 0 && p.freq == freq && p.length == length && p.delayAfter && p.delay > 0 &&
		reps == 1 && delay == 0 && p.reps < beepMaxMillis {
		p.reps++ // "-d": the silence between repetitions but not after the last
		p.delayAfter = false
		return
	}
	f.flush()
	f.pending = beepGroup{freq: freq, length: length, reps: reps, delay: delay, delayAfter: delayAfter}
}

// flush writes the pending tone: "-f F -l L [-r N] [-d|-D D]".
func (f *beepArgsFormatter) flush() {
	g := f.pending
	f.pending = beepGroup{}
	if g.reps == 0 {
		return
	}
	freq, length, reps, delay, delayAfter := g.freq, g.length, g.reps, g.delay, g.delayAfter
	if len(f.out) > 0 {
		f.out = append(f.out, " -n "...)
	}
	if length > 0 {
		f.out = append(f.out, "-f "...)
		f.out = appendBeepFreq(f.out, freq)
		f.out = append(f.out, ' ')
	}
	f.out = append(f.out, "-l "...)
	f.out = strconv.AppendInt(f.out, length, 10)
	if reps != 1 {
		f.out = append(f.out, " -r "...)
		f.out = strconv.AppendInt(f.out, reps, 10)
	}
	if delayAfter {
		f.out = append(f.out, " -D "...)
		f.out = strconv.AppendInt(f.out, delay, 10)
	} else if reps != 1 {
		f.out = append(f.out, " -d "...)
		f.out = strconv.AppendInt(f.out, delay, 10)
	}
}
