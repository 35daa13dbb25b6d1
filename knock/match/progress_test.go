package match

import (
	"fmt"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// A progressStep is one thing a progress test does: a packet, or an
// Expire call at expireAt when packet is nil.
type progressStep struct {
	packet   *kn
	expireAt time.Duration
}

func pk(k kn) progressStep                   { return progressStep{packet: &k} }
func expireAt(at time.Duration) progressStep { return progressStep{expireAt: at} }

func pks(ks []kn) []progressStep {
	steps := make([]progressStep, len(ks))
	for i := range ks {
		steps[i] = pk(ks[i])
	}
	return steps
}

// runProgress runs steps through a Matcher for doors and returns every
// progress report and opening, in the order they came, as
// "SRC DOOR: KIND N/OF" and "SRC DOOR: open". It checks each report
// against the door and, for a knock's report, the knock.
func runProgress(t *testing.T, doors []knock.Door, steps []progressStep) []string {
	t.Helper()
	var got []string
	var current *knock.Event
	m := New(doors, Options{IsLocal: isLocal, OnProgress: func(p Progress) {
		if p.Door < 0 || p.Door >= len(doors) || doors[p.Door].Name != p.Name || len(doors[p.Door].Sequence) != p.Of {
			t.Errorf("progress %+v does not name a door as New was given it", p)
		}
		want := knock.Event{}
		if p.Kind != AttemptExpired {
			want = *current
		}
		if p.Event != want {
			t.Errorf("%s: Progress.Event = %+v, want %+v", p.Kind, p.Event, want)
		}
		got = append(got, fmt.Sprintf("%s %s: %s %d/%d", p.Src, p.Name, p.Kind, p.Stage, p.Of))
	}})
	var out []Match
	for _, s := range steps {
		if s.packet == nil {
			current = nil
			m.Expire(t0.Add(s.expireAt))
			continue
		}
		ev := s.packet.event()
		current = &ev
		out = m.Handle(&ev, out[:0])
		for _, o := range out {
			got = append(got, fmt.Sprintf("%s %s: open", o.Src, o.Name))
		}
	}
	return got
}

func TestProgressReports(t *testing.T) {
	const x, y = "203.0.113.5", "203.0.113.6"
	ten := door("ten", 7000, 8000, 9000)
	ten.Timeout = 10 * time.Second
	gap := door("gap", 7000, 8000, 9000)
	gap.Timeout, gap.TimeoutMode = 3*time.Second, knock.TimeoutGap
	cool := door("cool", 7000, 8000)
	cool.Cooldown = time.Minute
	tests := []struct {
		name  string
		doors []knock.Door
		steps []progressStep
		want  []string
	}{{
		name:  "every stage in order, then the opening",
		doors: []knock.Door{door("ssh", 7000, 8000, 9000)},
		steps: pks(knocks(x, 0, 7000, 8000, 9000)),
		want: []string{
			x + " ssh: stage reached 1/3", x + " ssh: stage reached 2/3", x + " ssh: stage reached 3/3", x + " ssh: open",
		},
	}, {
		name:  "several doors and sources, each its own stages",
		doors: []knock.Door{door("a", 7000, 8000), door("b", 7000, 9000, 8000), door("bell", 4000)},
		steps: pks(concat(knocks(x, 0, 7000), knocks(y, time.Second, 7000, 9000), knocks(x, 3*time.Second, 8000),
			knocks(y, 4*time.Second, 8000, 4000))),
		want: []string{
			x + " a: stage reached 1/2", x + " b: stage reached 1/3",
			y + " a: stage reached 1/2", y + " b: stage reached 1/3",
			// 9000 resets y's a and steps its b.
			y + " a: attempt reset 1/2", y + " b: stage reached 2/3",
			// 8000 steps x's a and resets its b.
			x + " a: stage reached 2/2", x + " b: attempt reset 1/3", x + " a: open",
			y + " b: stage reached 3/3", y + " b: open",
			y + " bell: stage reached 1/1", y + " bell: open",
		},
	}, {
		name:  "timeout found by Expire",
		doors: []knock.Door{ten},
		steps: append(pks(knocks(x, 0, 7000, 8000)), expireAt(9*time.Second), expireAt(10*time.Second), expireAt(20*time.Second)),
		want:  []string{x + " ten: stage reached 1/3", x + " ten: stage reached 2/3", x + " ten: attempt expired 2/3"},
	}, {
		name:  "timeout found lazily at the source's next knock, which then starts afresh",
		doors: []knock.Door{ten},
		steps: pks(concat(knocks(x, 0, 7000), knocks(x, 12*time.Second, 7000, 8000, 9000))),
		want: []string{
			x + " ten: stage reached 1/3", x + " ten: attempt expired 1/3",
			x + " ten: stage reached 1/3", x + " ten: stage reached 2/3", x + " ten: stage reached 3/3", x + " ten: open",
		},
	}, {
		name:  "gap timeout by Expire, another source's attempt untouched",
		doors: []knock.Door{gap},
		steps: append(pks(concat(knocks(x, 0, 7000, 8000), knocks(y, 3*time.Second, 7000))), expireAt(4*time.Second)),
		want: []string{
			x + " gap: stage reached 1/3", x + " gap: stage reached 2/3", y + " gap: stage reached 1/3",
			x + " gap: attempt expired 2/3",
		},
	}, {
		name:  "a success within the cooldown reaches its last stage but opens nothing",
		doors: []knock.Door{cool},
		steps: pks(knocks(x, 0, 7000, 8000, 7000, 8000)),
		want: []string{
			x + " cool: stage reached 1/2", x + " cool: stage reached 2/2", x + " cool: open",
			x + " cool: stage reached 1/2", x + " cool: stage reached 2/2",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runProgress(t, tt.doors, tt.steps)
			if d := diff(tt.want, got); d != "" {
				t.Errorf("progress reports and openings %s", d)
			}
		})
	}
}

func TestProgressKindString(t *testing.T) {
	for k, want := range map[ProgressKind]string{
		StageReached: "stage reached", AttemptReset: "attempt reset", AttemptExpired: "attempt expired", 0: "ProgressKind(0)",
	} {
		if got := k.String(); got != want {
			t.Errorf("ProgressKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
