package beeper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/beeper/beepertest"
	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/sequence"
)

const ms = time.Millisecond

func newTestPlayer(s beeper.Speaker, clock *clocktest.Fake) *beeper.Player {
	return beeper.NewPlayer(s, beeper.PlayerOptions{Clock: clock})
}

// at is a call at offset from beepertest.Epoch.
func at(offset time.Duration, freq float64) beepertest.Call {
	return beepertest.Call{At: beepertest.Epoch.Add(offset), Freq: freq}
}

func diffCalls(want, got []beepertest.Call) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			if !want[i].At.Equal(got[i].At) || want[i].Freq != got[i].Freq {
				same = false
			}
		}
		if same {
			return ""
		}
	}
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i].String()
		}
		if i < len(got) {
			g = got[i].String()
		}
		mark := " "
		if w != g {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s %2d  -%-28s +%s\n", mark, i, w, g)
	}
	return b.String()
}

func TestPlayerCalls(t *testing.T) {
	tests := []struct {
		name  string
		tones []sequence.Tone
		want  []beepertest.Call
	}{
		{
			name:  "one tone is silenced at its end",
			tones: []sequence.Tone{{Freq: 440, Length: 200 * ms}},
			want:  []beepertest.Call{at(0, 440), at(200*ms, 0)},
		},
		{
			name:  "a delay after the last tone is waited out",
			tones: []sequence.Tone{{Freq: 440, Length: 200 * ms, Delay: 100 * ms}, {Freq: 880, Length: 50 * ms, Delay: 300 * ms}},
			want:  []beepertest.Call{at(0, 440), at(200*ms, 0), at(300*ms, 880), at(350*ms, 0)},
		},
		{
			name:  "tones without delay follow each other without silence",
			tones: []sequence.Tone{{Freq: 440, Length: 200 * ms}, {Freq: 880, Length: 100 * ms}},
			want:  []beepertest.Call{at(0, 440), at(200*ms, 880), at(300*ms, 0)},
		},
		{
			name:  "a repeated frequency starts a new tone",
			tones: []sequence.Tone{{Freq: 440, Length: 100 * ms}, {Freq: 440, Length: 100 * ms}},
			want:  []beepertest.Call{at(0, 440), at(100*ms, 440), at(200*ms, 0)},
		},
		{
			name:  "leading silence delays the first tone",
			tones: []sequence.Tone{{Delay: 300 * ms}, {Freq: 523.25, Length: 100 * ms}},
			want:  []beepertest.Call{at(300*ms, 523.25), at(400*ms, 0)},
		},
		{
			name:  "a rest is silence",
			tones: []sequence.Tone{{Freq: 440, Length: 100 * ms}, {Freq: 0, Length: 250 * ms}, {Freq: 440, Length: 100 * ms}},
			want:  []beepertest.Call{at(0, 440), at(100*ms, 0), at(350*ms, 440), at(450*ms, 0)},
		},
		{
			name:  "a zero-length tone sounds nothing",
			tones: []sequence.Tone{{Freq: 440, Length: 0, Delay: 100 * ms}, {Freq: 660, Length: 100 * ms}},
			want:  []beepertest.Call{at(100*ms, 660), at(200*ms, 0)},
		},
		{
			name:  "an empty song plays nothing",
			tones: nil,
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.NewFake(beepertest.Epoch)
			rec := beepertest.NewRecorder(clock)
			if _, err := newTestPlayer(rec, clock).Play(context.Background(), beeper.Song{Name: tt.name, Tones: tt.tones}); err != nil {
				t.Fatalf("Play: %v", err)
			}
			if d := diffCalls(tt.want, rec.Calls()); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
			var total time.Duration
			for _, tone := range tt.tones {
				total += tone.Duration()
			}
			if got := clock.Now().Sub(beepertest.Epoch); got != total {
				t.Errorf("Play returned after %v, want the song's length %v", got, total)
			}
		})
	}
}

// TestPlayerNoDrift plays on a clock that wakes every sleeper late: each
// tone still starts at its own deadline plus that one lateness, not the sum
// of all lateness so far, as chained sleeps would give.
func TestPlayerNoDrift(t *testing.T) {
	const late = 3 * ms
	clock := clocktest.NewFake(beepertest.Epoch)
	clock.Lateness = late
	rec := beepertest.NewRecorder(clock)
	var tones []sequence.Tone
	for i := range 100 {
		tones = append(tones, sequence.Tone{Freq: float64(200 + i), Length: 70 * ms, Delay: 30 * ms})
	}
	if _, err := newTestPlayer(rec, clock).Play(context.Background(), beeper.Song{Tones: tones}); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 200 {
		t.Fatalf("got %d calls, want 200 (a tone and a silence each)", len(calls))
	}
	for i, c := range calls {
		offset := time.Duration(i/2)*100*ms + time.Duration(i%2)*70*ms
		want := beepertest.Epoch.Add(offset)
		if i > 0 {
			want = want.Add(late)
		}
		if !c.At.Equal(want) {
			t.Fatalf("call %d (%g Hz) at %v, want %v: the schedule drifts by %v",
				i, c.Freq, c.At.Sub(beepertest.Epoch), want.Sub(beepertest.Epoch), c.At.Sub(want))
		}
	}
}

var twoSeconds = []sequence.Tone{
	{Freq: 440, Length: 500 * ms, Delay: 100 * ms},
	{Freq: 660, Length: 500 * ms, Delay: 100 * ms},
	{Freq: 880, Length: 800 * ms},
}

func TestPlayerCancelSilences(t *testing.T) {
	for sleep := 1; sleep <= 5; sleep++ {
		t.Run(fmt.Sprintf("cancel at sleep %d", sleep), func(t *testing.T) {
			clock := clocktest.NewFake(beepertest.Epoch)
			rec := beepertest.NewRecorder(clock)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			clock.OnSleep = func(time.Time) {
				if n++; n == sleep {
					cancel()
				}
			}
			_, err := newTestPlayer(rec, clock).Play(ctx, beeper.Song{Tones: twoSeconds})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Play = %v, want context.Canceled", err)
			}
			if !rec.Silent() {
				t.Errorf("speaker left sounding; calls:\n%s", diffCalls(nil, rec.Calls()))
			}
		})
	}
}

func TestPlayerCancelledBeforeStart(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	rec := beepertest.NewRecorder(clock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newTestPlayer(rec, clock).Play(ctx, beeper.Song{Tones: twoSeconds}); !errors.Is(err, context.Canceled) {
		t.Errorf("Play = %v, want context.Canceled", err)
	}
	for _, c := range rec.Calls() {
		if c.Freq != 0 {
			t.Errorf("a cancelled song sounded %g Hz", c.Freq)
		}
	}
}

func TestPlayerPanicSilences(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	rec := beepertest.NewRecorder(clock)
	n := 0
	clock.OnSleep = func(time.Time) {
		if n++; n == 3 {
			panic("clock broke")
		}
	}
	func() {
		defer func() {
			if r := recover(); r != "clock broke" {
				t.Errorf("recovered %v, want the clock's panic to go on", r)
			}
		}()
		newTestPlayer(rec, clock).Play(context.Background(), beeper.Song{Tones: twoSeconds})
	}()
	if !rec.Silent() {
		t.Errorf("speaker left sounding after a panic; calls:\n%s", diffCalls(nil, rec.Calls()))
	}
}

// failingSpeaker fails its nth sounding Tone call, as a device that goes
// away mid-song.
type failingSpeaker struct {
	*beepertest.Recorder
	n int
}

var errGone = errors.New("device gone")

func (f *failingSpeaker) Tone(freq float64) error {
	if freq > 0 {
		if f.n--; f.n == 0 {
			return errGone
		}
	}
	return f.Recorder.Tone(freq)
}

func TestPlayerErrorSilences(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	s := &failingSpeaker{Recorder: beepertest.NewRecorder(clock), n: 2}
	_, err := newTestPlayer(s, clock).Play(context.Background(), beeper.Song{Tones: twoSeconds})
	if !errors.Is(err, errGone) {
		t.Errorf("Play = %v, want the speaker's error", err)
	}
	if !s.Silent() {
		t.Errorf("speaker left sounding after an error")
	}
	if got := clock.Now().Sub(beepertest.Epoch); got != 600*ms {
		t.Errorf("Play went on until %v after the error at 600ms", got)
	}
}

func TestPlayerClampsWithWarning(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	rec := beepertest.NewRecorder(clock)
	rec.FreqRange = beeper.FreqRange{Min: 100, Max: 1000}
	var logs bytes.Buffer
	p := beeper.NewPlayer(rec, beeper.PlayerOptions{Clock: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	tones := []sequence.Tone{
		{Freq: 20, Length: 100 * ms},
		{Freq: 440, Length: 100 * ms},
		{Freq: 5000, Length: 100 * ms},
		{Freq: 5000, Length: 100 * ms},
	}
	if _, err := p.Play(context.Background(), beeper.Song{Name: "clamp", Tones: tones}); err != nil {
		t.Fatal(err)
	}
	want := []beepertest.Call{at(0, 100), at(100*ms, 440), at(200*ms, 1000), at(300*ms, 1000), at(400*ms, 0)}
	if d := diffCalls(want, rec.Calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	warnings := strings.Count(logs.String(), "level=WARN")
	if warnings != 2 || !strings.Contains(logs.String(), "freq=20 plays=100") || !strings.Contains(logs.String(), "freq=5000 plays=1000") {
		t.Errorf("want one warning for 20 Hz and one for 5000 Hz, got %d:\n%s", warnings, logs.String())
	}
}

func TestPlayerRefusesBadTones(t *testing.T) {
	tests := []struct {
		name string
		tone sequence.Tone
	}{
		{"NaN frequency", sequence.Tone{Freq: math.NaN(), Length: ms}},
		{"infinite frequency", sequence.Tone{Freq: math.Inf(1), Length: ms}},
		{"negative frequency", sequence.Tone{Freq: -440, Length: ms}},
		{"negative length", sequence.Tone{Freq: 440, Length: -ms}},
		{"negative delay", sequence.Tone{Freq: 440, Length: ms, Delay: -ms}},
		{"longer than a century", sequence.Tone{Freq: 440, Length: math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.NewFake(beepertest.Epoch)
			rec := beepertest.NewRecorder(clock)
			song := beeper.Song{Name: "bad", Tones: []sequence.Tone{{Freq: 440, Length: ms}, tt.tone}}
			_, err := newTestPlayer(rec, clock).Play(context.Background(), song)
			if err == nil || !strings.Contains(err.Error(), `song "bad", tone 2`) {
				t.Errorf("Play = %v, want an error naming song \"bad\", tone 2", err)
			}
			if calls := rec.Calls(); len(calls) != 0 {
				t.Errorf("a refused song made calls:\n%s", diffCalls(nil, calls))
			}
		})
	}
}

func TestPlayerOneSongAtATime(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	rec := beepertest.NewRecorder(clock)
	p := newTestPlayer(rec, clock)
	playing, release := make(chan struct{}), make(chan struct{})
	first := true
	clock.OnSleep = func(time.Time) {
		if first {
			first = false
			close(playing)
			<-release
		}
	}
	done := make(chan error)
	go func() {
		_, err := p.Play(context.Background(), beeper.Song{Tones: twoSeconds})
		done <- err
	}()
	<-playing
	if _, err := p.Play(context.Background(), beeper.Song{Tones: twoSeconds}); !errors.Is(err, beeper.ErrBusy) {
		t.Errorf("second Play = %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("first Play: %v", err)
	}
	if _, err := p.Play(context.Background(), beeper.Song{Tones: twoSeconds[:1]}); err != nil {
		t.Errorf("Play after the first song ended: %v", err)
	}
}

// playerTolerance is how far the player may stray from a song on the
// fake clock, where every call lands at its deadline: not at all.
var playerTolerance = beepertest.Tolerance{}

// recorderSong has a leading silence, a rest, tones back to back and a
// delay at the end.
var recorderSong = []sequence.Tone{
	{Delay: 150 * ms},
	{Freq: 392, Length: 350 * ms, Delay: 100 * ms},
	{Freq: 0, Length: 50 * ms},
	{Freq: 311.1, Length: 250 * ms},
	{Freq: 466.2, Length: 25 * ms, Delay: 400 * ms},
}

// TestRecorderTones checks the player with the Recorder: what it records
// of a song is the song as a speaker makes it, and the speaker ends
// silent.
func TestRecorderTones(t *testing.T) {
	clock := clocktest.NewFake(beepertest.Epoch)
	rec := beepertest.NewRecorder(clock)
	if _, err := newTestPlayer(rec, clock).Play(context.Background(), beeper.Song{Tones: recorderSong}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Check(recorderSong, beepertest.Epoch, clock.Now(), playerTolerance); err != nil {
		t.Error(err)
	}
}

// TestPlayerCheckCatchesFaults plays recorderSong through a faulty clock
// or speaker and shows that the check TestRecorderTones makes, with the
// same tolerance, fails on each fault, naming it; and passes with none.
func TestPlayerCheckCatchesFaults(t *testing.T) {
	tests := []struct {
		name string
		// fault wraps the recorder and the clock the player gets.
		fault   func(*beepertest.Recorder, *clocktest.Fake) (beeper.Speaker, clock.Clock)
		wantErr string // "": the check passes
	}{
		{
			name:  "no fault",
			fault: func(r *beepertest.Recorder, c *clocktest.Fake) (beeper.Speaker, clock.Clock) { return r, c },
		},
		{
			// The player sleeps until 150 ms (the leading silence),
			// 500 (392 Hz), 600 (its delay), 650 (the rest), ...: the
			// fourth sleep ends the rest, so 311.1 Hz starts 20 ms late.
			name: "a note 20 ms late",
			fault: func(r *beepertest.Recorder, c *clocktest.Fake) (beeper.Speaker, clock.Clock) {
				return r, &lateClock{Fake: c, n: 4, late: 20 * ms}
			},
			wantErr: "tone 2 (311.10 Hz): starts 670ms, 20ms late (meant at 650ms",
		},
		// The Tone calls: 392 Hz, 0, 311.1 Hz, 466.2 Hz, 0.
		{
			name: "a wrong pitch",
			fault: func(r *beepertest.Recorder, c *clocktest.Fake) (beeper.Speaker, clock.Clock) {
				return &faultySpeaker{Recorder: r, n: 3, fault: func(f float64) (float64, bool) { return f * 1.0595, true }}, c
			},
			wantErr: "tone 2: 329.61 Hz, meant 311.10 Hz",
		},
		{
			name: "a dropped note",
			fault: func(r *beepertest.Recorder, c *clocktest.Fake) (beeper.Speaker, clock.Clock) {
				return &faultySpeaker{Recorder: r, n: 3, fault: func(f float64) (float64, bool) { return f, false }}, c
			},
			wantErr: "2 tones heard, 3 meant",
		},
		{
			name: "the speaker left on at the end",
			fault: func(r *beepertest.Recorder, c *clocktest.Fake) (beeper.Speaker, clock.Clock) {
				return &faultySpeaker{Recorder: r, n: 5, fault: func(f float64) (float64, bool) { return f, false }}, c
			},
			wantErr: beepertest.ErrSounding.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.NewFake(beepertest.Epoch)
			rec := beepertest.NewRecorder(clock)
			s, c := tt.fault(rec, clock)
			if _, err := beeper.NewPlayer(s, beeper.PlayerOptions{Clock: c}).Play(context.Background(), beeper.Song{Tones: recorderSong}); err != nil {
				t.Fatal(err)
			}
			err := rec.Check(recorderSong, beepertest.Epoch, clock.Now(), playerTolerance)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("the check fails with no fault: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("the check passes with %s; calls:\n%s", tt.name, diffCalls(nil, rec.Calls()))
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("the check's error:\n%v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// lateClock wakes its nth sleeper late, as a busy machine might.
type lateClock struct {
	*clocktest.Fake
	n, sleeps int
	late      time.Duration
}

func (c *lateClock) SleepUntil(ctx context.Context, t time.Time) error {
	if c.sleeps++; c.sleeps == c.n {
		t = t.Add(c.late)
	}
	return c.Fake.SleepUntil(ctx, t)
}

// faultySpeaker passes its Tone calls to a Recorder but its nth: fault
// gives the frequency to record instead, or false to record nothing, as
// a speaker that misses a call.
type faultySpeaker struct {
	*beepertest.Recorder
	n, calls int
	fault    func(freq float64) (float64, bool)
}

func (s *faultySpeaker) Tone(freq float64) error {
	if s.calls++; s.calls == s.n {
		f, ok := s.fault(freq)
		if !ok {
			return nil
		}
		freq = f
	}
	return s.Recorder.Tone(freq)
}
