package music

import (
	"log/slog"
	"net/netip"
	"time"
)

// A refusal is a reason a knock did nothing.
type refusal uint8

const (
	refusedNotAllowed   refusal = iota // source outside Options.Allow
	refusedTooManyPools                // a new source while Options.MaxPools pools exist
	refusedPoolFull                    // a step beyond Options.MaxPoolSteps
	refusedQueueFull                   // a play while Options.QueueLen songs wait
	refusedEmptyPlay                   // a play with no steps
	refusedWriteError                  // the pool could not be created, written or archived
	numRefusals
)

func (r refusal) String() string {
	switch r {
	case refusedNotAllowed:
		return "source not in the allowed networks ([music] allow)"
	case refusedTooManyPools:
		return "too many pools ([music] max_pools): play or remove pools under the state directory's pools/"
	case refusedPoolFull:
		return "pool full ([music] max_steps): play it to start a new one"
	case refusedQueueFull:
		return "play queue full ([music] queue): play again when the songs before have played"
	case refusedEmptyPlay:
		return "play knock on an empty pool: nothing to play"
	case refusedWriteError:
		return "pool file error"
	}
	return "unknown"
}

// maxLimiterKeys bounds the memory of refusalLog under a flood of refused
// knocks from many sources: beyond it, sources share one line per reason.
const maxLimiterKeys = 4096

// maxLinesPerReason bounds the lines about one reason per interval, over
// all sources: a flood from random (spoofed) sources writes this many,
// then one line with the count of the refusals it left out.
const maxLinesPerReason = 10

type limiterKey struct {
	reason refusal
	src    netip.Addr // the zero Addr stands for "other sources"
}

type limiterEntry struct {
	last       time.Time
	suppressed int
}

// A reasonWindow counts the lines about one reason in the interval that
// began with the first of them.
type reasonWindow struct {
	start    time.Time
	lines    int
	unlogged int // refusals whose line the cap left out
}

// refusalLog logs refusals at most once per reason and source per
// interval, with the number of refusals it kept quiet about since the last
// line, and at most maxLinesPerReason lines per reason per interval, then
// a summary. It is used by the Handle goroutine only.
type refusalLog struct {
	log      *slog.Logger
	interval time.Duration
	entries  map[limiterKey]*limiterEntry
	pruned   time.Time // when prune last ran: at most once an interval, so a flood costs O(1) a knock
	windows  [numRefusals]reasonWindow
}

func newRefusalLog(log *slog.Logger, interval time.Duration) *refusalLog {
	return &refusalLog{log: log, interval: interval, entries: make(map[limiterKey]*limiterEntry)}
}

// refuse logs r for src unless a line for the same reason and source was
// logged less than an interval ago. attrs add detail (an error, a path).
func (l *refusalLog) refuse(now time.Time, r refusal, src netip.Addr, attrs ...any) {
	key := limiterKey{r, src}
	e := l.entries[key]
	if e == nil {
		if len(l.entries) >= maxLimiterKeys && now.Sub(l.pruned) >= l.interval {
			l.prune(now)
		}
		if len(l.entries) >= maxLimiterKeys {
			key.src = netip.Addr{}
			e = l.entries[key]
		}
	}
	if e == nil {
		e = &limiterEntry{}
		l.entries[key] = e
	} else if !e.last.IsZero() && now.Sub(e.last) < l.interval {
		e.suppressed++
		return
	}
	w := &l.windows[r]
	if now.Sub(w.start) >= l.interval {
		l.summarize(r)
		*w = reasonWindow{start: now}
	}
	if w.lines >= maxLinesPerReason {
		// This source's next line, once the cap allows, reports it too.
		w.unlogged++
		e.suppressed++
		return
	}
	w.lines++
	src2 := any(src)
	if !key.src.IsValid() {
		src2 = "other sources"
	}
	l.log.Warn("music: knock refused: "+r.String(),
		append([]any{"src", src2, "suppressed", e.suppressed}, attrs...)...)
	e.last = now
	e.suppressed = 0
}

// flush writes the summary of each reason whose interval has passed with
// refusals left out by the cap; Tick calls it, so that the summary of a
// flood that stopped is not held back until the next refusal.
func (l *refusalLog) flush(now time.Time) {
	for r := range l.windows {
		if w := &l.windows[r]; w.unlogged > 0 && now.Sub(w.start) >= l.interval {
			l.summarize(refusal(r))
			*w = reasonWindow{}
		}
	}
}

// quiet reports whether flush has no count to log, now or later.
func (l *refusalLog) quiet() bool {
	for r := range l.windows {
		if l.windows[r].unlogged > 0 {
			return false
		}
	}
	return true
}

// summarize logs how many refusals of reason r the cap left out in the
// current window.
func (l *refusalLog) summarize(r refusal) {
	if n := l.windows[r].unlogged; n > 0 {
		l.log.Warn("music: knocks refused and not logged: "+r.String(),
			"unlogged", n, "lines_per_interval", maxLinesPerReason, "interval", l.interval)
	}
}

// prune forgets the entries whose interval has passed. Their suppressed
// counts are lost to the log but not to Stats.
func (l *refusalLog) prune(now time.Time) {
	l.pruned = now
	for k, e := range l.entries {
		if now.Sub(e.last) >= l.interval {
			delete(l.entries, k)
		}
	}
}
