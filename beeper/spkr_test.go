package beeper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
)

// fakeSpkr plays SPKRTONE requests on the fake clock: each takes its
// duration, except those listed in short, which return after that much
// (as a signal cuts the kernel's sleep short).
type fakeSpkr struct {
	clock    *clocktest.Fake
	requests []string
	short    map[int]time.Duration
	err      error
}

func (f *fakeSpkr) tone(hz, ticks int) error {
	f.requests = append(f.requests, fmt.Sprintf("%d Hz %d0ms", hz, ticks))
	d := time.Duration(ticks) * spkrTick
	if s, ok := f.short[len(f.requests)]; ok {
		d = s
	}
	f.clock.Advance(d)
	return f.err
}

func (f *fakeSpkr) Close() error { return nil }

func TestSpkrRequests(t *testing.T) {
	tests := []struct {
		name  string
		short map[int]time.Duration
		play  func(s *spkr, ctx context.Context) error
		want  []string
		end   time.Duration // the clock at the end, from the song's start
	}{
		{
			name: "a tone is one request, rounded to 10 ms",
			play: func(s *spkr, ctx context.Context) error {
				s.Tone(440.4)
				return s.Hold(ctx, 254*time.Millisecond)
			},
			want: []string{"440 Hz 250ms"},
			end:  250 * time.Millisecond,
		},
		{
			name: "a long tone is requested in chunks, so a cancel is heard soon",
			play: func(s *spkr, ctx context.Context) error {
				s.Tone(392)
				return s.Hold(ctx, 1300*time.Millisecond)
			},
			want: []string{"392 Hz 500ms", "392 Hz 500ms", "392 Hz 300ms"},
			end:  1300 * time.Millisecond,
		},
		{
			name: "silence is slept, not requested",
			play: func(s *spkr, ctx context.Context) error {
				s.Tone(0)
				return s.Hold(ctx, 700*time.Millisecond)
			},
			want: nil,
			end:  700 * time.Millisecond,
		},
		{
			name:  "a request cut short by a signal is made up for",
			short: map[int]time.Duration{1: 120 * time.Millisecond},
			play: func(s *spkr, ctx context.Context) error {
				s.Tone(440)
				return s.Hold(ctx, 400*time.Millisecond)
			},
			want: []string{"440 Hz 400ms", "440 Hz 280ms"},
			end:  400 * time.Millisecond,
		},
		{
			name: "holds are measured from the song's start, so rounding never adds up",
			play: func(s *spkr, ctx context.Context) error {
				for range 4 {
					s.Tone(440)
					if err := s.Hold(ctx, 25*time.Millisecond+2500*time.Microsecond); err != nil {
						return err
					}
				}
				return nil
			},
			// 27.5 ms each: deadlines at 27.5, 55, 82.5 and 110 ms.
			want: []string{"440 Hz 30ms", "440 Hz 30ms", "440 Hz 20ms", "440 Hz 30ms"},
			end:  110 * time.Millisecond,
		},
		{
			name:  "a request that does not play is waited out, not repeated",
			short: map[int]time.Duration{1: 0},
			play: func(s *spkr, ctx context.Context) error {
				s.Tone(440)
				return s.Hold(ctx, 300*time.Millisecond)
			},
			want: []string{"440 Hz 300ms"},
			end:  300 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.NewFake(time.Unix(1e9, 0))
			start := clock.Now()
			dev := &fakeSpkr{clock: clock, short: tt.short}
			s := newSpkr(dev, "fake", clock)
			if err := s.StartSong("x"); err != nil {
				t.Fatal(err)
			}
			if err := tt.play(s, context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(dev.requests, ", "), strings.Join(tt.want, ", "); got != want {
				t.Errorf("requests (-want +got):\n-%s\n+%s", want, got)
			}
			if got := clock.Now().Sub(start); got != tt.end {
				t.Errorf("ended at %v, want %v", got, tt.end)
			}
			if path, err := s.FinishSong(); path != "" || err != nil {
				t.Errorf("FinishSong = %q, %v; want no file", path, err)
			}
		})
	}
}

func TestSpkrErrorsAndCancel(t *testing.T) {
	clock := clocktest.NewFake(time.Unix(1e9, 0))
	dev := &fakeSpkr{clock: clock, err: errors.New("EIO")}
	s := newSpkr(dev, "fake", clock)
	s.StartSong("")
	s.Tone(440)
	if err := s.Hold(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "SPKRTONE: EIO") {
		t.Errorf("Hold = %v, want the device's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dev.err = nil
	if err := s.Hold(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Hold = %v, want context.Canceled", err)
	}
	if err := s.Tone(10); !errors.Is(err, ErrFrequency) {
		t.Errorf("Tone(10) = %v, want ErrFrequency", err)
	}
}
