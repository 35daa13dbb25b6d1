package beeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/sequence"
)

// A Song is what the Player plays: tones, and a name for logs and for the
// file a WAV speaker writes.
type Song struct {
	Name  string
	Tones []sequence.Tone
}

// Result tells what playing a song produced.
type Result struct {
	// WAVPath is the WAV file the song was written to when the speaker is
	// a WAV speaker (also after an error or a cancel: the file then holds
	// what was rendered), and "" otherwise.
	WAVPath string
}

// ErrBusy is returned by Play while another song is playing: the Player
// plays one song at a time and leaves queueing to its caller.
var ErrBusy = errors.New("beeper: the player is busy with another song")

// PlayerOptions are a Player's dependencies; the zero value means the real
// clock and no logging.
type PlayerOptions struct {
	Clock  clock.Clock
	Logger *slog.Logger
}

// A Player plays songs on a Speaker, one at a time.
//
// It schedules every tone against an absolute deadline, the song's start
// plus the lengths of all tones before it, so late wake-ups never add up.
// It clamps frequencies the speaker cannot make to its range (logging a
// warning once per frequency and song), and it leaves the speaker silent
// however Play ends: finished, cancelled, failed or panicking.
type Player struct {
	speaker Speaker
	clock   clock.Clock
	log     *slog.Logger
	busy    atomic.Bool
}

// NewPlayer returns a Player for s. The Player does not close s.
func NewPlayer(s Speaker, opts PlayerOptions) *Player {
	p := &Player{speaker: s, clock: opts.Clock, log: opts.Logger}
	if p.clock == nil {
		p.clock = clock.System()
	}
	if p.log == nil {
		p.log = discardLogger
	}
	return p
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// Play plays song and returns when it has finished, when ctx is done
// (returning ctx's error), or when the speaker fails. A second Play while
// one is playing returns ErrBusy at once.
//
// A tone with Freq 0 is a rest: silence for its Length. Tones with a
// negative, infinite or NaN frequency or a negative length are refused
// before anything plays.
func (p *Player) Play(ctx context.Context, song Song) (res Result, err error) {
	if !p.busy.CompareAndSwap(false, true) {
		return Result{}, ErrBusy
	}
	defer p.busy.Store(false)

	if err := validate(song); err != nil {
		return Result{}, err
	}
	segs := p.segments(song)
	p.log.Debug("beeper: playing", "song", song.Name, "tones", len(song.Tones),
		"duration", songLength(segs), "speaker", p.speaker.String())

	// Silence the speaker on every way out but a clean finish, which ends
	// silent: the deferred call runs on errors, on cancels, and while a
	// panic unwinds (which then goes on).
	sounding, clean := false, false
	defer func() {
		if sounding || !clean {
			if serr := p.speaker.Tone(0); serr != nil {
				p.log.Error("beeper: cannot silence the speaker", "speaker", p.speaker.String(), "err", serr)
				if err == nil {
					err = serr
				}
			}
		}
	}()

	if st, ok := p.speaker.(SelfTimed); ok {
		res, err = p.playSelfTimed(ctx, st, song.Name, segs, &sounding)
	} else {
		err = p.playRealTime(ctx, segs, &sounding)
	}
	clean = err == nil
	return res, err
}

// A segment is a stretch of one tone (freq > 0) or of silence.
type segment struct {
	freq float64
	d    time.Duration
}

// segments splits the song into tones and silences, clamping each
// frequency into the speaker's range. A tone followed directly by another
// needs no silence between them, so none is made.
func (p *Player) segments(song Song) []segment {
	rng := p.speaker.Range()
	segs := make([]segment, 0, 2*len(song.Tones))
	var warned map[float64]bool
	for _, t := range song.Tones {
		if t.Length > 0 {
			f, changed := rng.Clamp(t.Freq)
			if changed && !warned[t.Freq] {
				if warned == nil {
					warned = make(map[float64]bool)
				}
				warned[t.Freq] = true
				p.log.Warn("beeper: frequency out of the speaker's range, clamped",
					"song", song.Name, "freq", t.Freq, "plays", f,
					"range", rng.String(), "speaker", p.speaker.String())
			}
			segs = append(segs, segment{freq: f, d: t.Length})
		}
		if t.Delay > 0 {
			segs = append(segs, segment{d: t.Delay})
		}
	}
	return segs
}

func songLength(segs []segment) time.Duration {
	var total time.Duration
	for _, s := range segs {
		total += s.d
	}
	return total
}

// maxSongLength keeps deadline arithmetic far from overflowing; beep's own
// limits (300000 repetitions of 300 s tones and delays) stay below it.
const maxSongLength = 100 * 365 * 24 * time.Hour

func validate(song Song) error {
	var total time.Duration
	for i, t := range song.Tones {
		if t.Freq < 0 || math.IsNaN(t.Freq) || math.IsInf(t.Freq, 0) {
			return fmt.Errorf("beeper: song %q, tone %d: frequency %g Hz is not a frequency", song.Name, i+1, t.Freq)
		}
		if t.Length < 0 || t.Delay < 0 {
			return fmt.Errorf("beeper: song %q, tone %d: negative length %v or delay %v", song.Name, i+1, t.Length, t.Delay)
		}
		if t.Length > maxSongLength || t.Delay > maxSongLength || total > maxSongLength-t.Length-t.Delay {
			return fmt.Errorf("beeper: song %q, tone %d: the song is longer than %v", song.Name, i+1, maxSongLength)
		}
		total += t.Length + t.Delay
	}
	return nil
}

// playRealTime drives a speaker that sounds until told otherwise: a Tone
// call at the start of each segment, then a sleep until its deadline.
func (p *Player) playRealTime(ctx context.Context, segs []segment, sounding *bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := p.clock.Now()
	var offset time.Duration
	for _, s := range segs {
		// A new tone always gets its own call, even at the frequency of
		// the one before, as beep does; a silence needs one only after a
		// tone.
		if s.freq > 0 || *sounding {
			if err := p.speaker.Tone(s.freq); err != nil {
				return err
			}
			*sounding = s.freq > 0
		}
		offset += s.d
		if err := p.clock.SleepUntil(ctx, start.Add(offset)); err != nil {
			return err
		}
	}
	if *sounding {
		*sounding = false
		if err := p.speaker.Tone(0); err != nil {
			*sounding = true
			return err
		}
	}
	return nil
}

// playSelfTimed drives a SelfTimed speaker: Tone, then Hold for as long
// as the segment lasts; the clock is not consulted.
func (p *Player) playSelfTimed(ctx context.Context, st SelfTimed, name string, segs []segment, sounding *bool) (res Result, err error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := st.StartSong(name); err != nil {
		return Result{}, err
	}
	defer func() {
		// Silence before finishing, so the file ends with what was
		// rendered, and the song is finished even after a panic.
		if *sounding {
			if serr := st.Tone(0); serr == nil {
				*sounding = false
			}
		}
		path, ferr := st.FinishSong()
		res.WAVPath = path
		if err == nil {
			err = ferr
		}
		if path != "" {
			p.log.Info("beeper: wrote song", "song", name, "file", path)
		}
	}()
	for _, s := range segs {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if s.freq > 0 || *sounding {
			if err := st.Tone(s.freq); err != nil {
				return Result{}, err
			}
			*sounding = s.freq > 0
		}
		if err := st.Hold(ctx, s.d); err != nil {
			return Result{}, err
		}
	}
	return Result{}, nil
}
