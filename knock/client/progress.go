package client

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// progressRedraw is how often the progress bar is redrawn at most: often
// enough to look alive, rarely enough to cost nothing beside the knocks.
const progressRedraw = 100 * time.Millisecond

// A progressBar draws one line on a terminal, rewritten in place:
//
//	[##########....................]  105/314 knocks  0.1s, about 0.2s left
//
// A nil *progressBar draws nothing, so callers need not check.
type progressBar struct {
	w       io.Writer
	clock   clock.Clock
	total   int
	delay   time.Duration
	start   time.Time
	drawn   time.Time
	visible bool
}

func newProgressBar(w io.Writer, clk clock.Clock, total int, delay time.Duration) *progressBar {
	return &progressBar{w: w, clock: clk, total: total, delay: delay, start: clk.Now()}
}

const progressWidth = 30

// update shows that done knocks of the total have been sent.
func (b *progressBar) update(done int) {
	if b == nil || b.total <= 0 {
		return
	}
	now := b.clock.Now()
	if b.visible && done < b.total && now.Sub(b.drawn) < progressRedraw {
		return
	}
	b.drawn, b.visible = now, true
	filled := progressWidth * done / b.total
	left := time.Duration(b.total-done) * b.delay
	fmt.Fprintf(b.w, "\r[%s%s] %4d/%d knocks  %v, about %v left",
		strings.Repeat("#", filled), strings.Repeat(".", progressWidth-filled),
		done, b.total, now.Sub(b.start).Round(100*time.Millisecond), left.Round(100*time.Millisecond))
}

// clear erases the bar, so that what is printed next starts on a clean line.
func (b *progressBar) clear() {
	if b == nil || !b.visible {
		return
	}
	io.WriteString(b.w, "\r\x1b[K")
	b.visible = false
}
