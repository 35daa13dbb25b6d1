package status

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// Roll geometry: a note is a bar rollRowHeight tall at its MIDI row, and a
// second of music is rollPixelsPerSecond wide, up to rollMaxWidth (longer
// songs are squeezed to fit).
const (
	rollRowHeight       = 6
	rollPixelsPerSecond = 40.0
	rollMaxWidth        = 960.0
	rollMargin          = 2
)

// Roll draws tones as a piano roll: an SVG with one <rect class="note">
// per sounding tone (a tone of frequency 0 or length 0 is a rest and
// draws nothing), time running right and pitch up. Each bar's title says
// its note, frequency and length, for a person hovering over it.
func Roll(tones []sequence.Tone) template.HTML {
	var total time.Duration
	lo, hi := 127, 0
	for _, t := range tones {
		total += t.Duration()
		if !sounds(t) {
			continue
		}
		n := sequence.NearestNote(t.Freq)
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo > hi { // no note at all
		lo, hi = 60, 60
	}
	scale := rollPixelsPerSecond
	if w := total.Seconds() * scale; w > rollMaxWidth {
		scale = rollMaxWidth / total.Seconds()
	}
	width := math.Max(total.Seconds()*scale, 1) + 2*rollMargin
	height := float64((hi-lo+1)*rollRowHeight + 2*rollMargin)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="roll" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="piano roll">`,
		width, height, width, height)
	var at time.Duration
	for _, t := range tones {
		if sounds(t) {
			n := sequence.NearestNote(t.Freq)
			x := rollMargin + at.Seconds()*scale
			y := rollMargin + float64((hi-n)*rollRowHeight)
			w := math.Max(t.Length.Seconds()*scale, 1)
			fmt.Fprintf(&b, `<rect class="note" x="%.2f" y="%.0f" width="%.2f" height="%d"><title>%s %.2f Hz %v</title></rect>`,
				x, y, w, rollRowHeight-1, sequence.NoteName(n), t.Freq, t.Length)
		}
		at += t.Duration()
	}
	b.WriteString(`</svg>`)
	// Every value written above is a number or a note name: nothing from
	// the network reaches the markup.
	return template.HTML(b.String())
}

func sounds(t sequence.Tone) bool { return t.Freq > 0 && t.Length > 0 }
