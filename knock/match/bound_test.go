package match

import (
	"net/netip"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// perSource is a door's sequences by source, as a rotating door with
// bind_source derives them; a source it does not list has none.
type perSource struct {
	n    int
	seqs map[netip.Addr][]knock.Step
}

func (p *perSource) SequenceFor(src netip.Addr, buf []knock.Step) []knock.Step {
	return append(buf[:0], p.seqs[src]...)
}

func (p *perSource) Len() int { return p.n }

// boundDoor is a rotating door (range 100-199, TCP) whose sequence depends
// on the knocker: seqs gives source → ports.
func boundDoor(name string, seqs map[string][]uint16) knock.Door {
	ps := &perSource{seqs: map[netip.Addr][]knock.Step{}}
	for src, ports := range seqs {
		ps.seqs[netip.MustParseAddr(src)] = tcpSeq(ports...)
		ps.n = len(ports)
	}
	d := ranged(door(name), 100, 199)
	d.Sequence, d.PerSource = nil, ps
	return d
}

// A door bound to the knocker's address opens for each source on its own
// sequence only: another source that sends it (an observer replaying what
// it saw, from its own address) opens nothing, and its wrong knocks in
// the range reset its attempt as on any rotating door.
func TestBoundDoor(t *testing.T) {
	alice, mallory := "203.0.113.5", "198.51.100.66"
	bound := func() knock.Door {
		return boundDoor("ssh", map[string][]uint16{alice: {110, 150, 130}, mallory: {120, 170, 140}})
	}
	runCases(t, []matcherCase{{
		name:    "the source's own sequence opens",
		doors:   []knock.Door{bound()},
		packets: knocks(alice, 0, 110, 150, 130),
		want:    []string{"ssh 203.0.113.5 #2"},
	}, {
		name:    "another source's sequence opens nothing",
		doors:   []knock.Door{bound()},
		packets: knocks(mallory, 0, 110, 150, 130),
		want:    nil,
	}, {
		name:    "an observer replays alice's knocks while alice knocks: only alice opens",
		doors:   []knock.Door{bound()},
		packets: concat(knocks(alice, 0, 110, 150, 130), knocks(mallory, 3*time.Second, 110, 150, 130)),
		want:    []string{"ssh 203.0.113.5 #2"},
	}, {
		name:    "a source the door gives no sequence opens nothing",
		doors:   []knock.Door{bound()},
		packets: knocks("192.0.2.99", 0, 110, 150, 130),
		want:    nil,
	}, {
		name:    "a wrong knock in the range resets",
		doors:   []knock.Door{bound()},
		packets: knocks(alice, 0, 110, 150, 151, 130),
		want:    nil,
	}, {
		name:    "knocks outside the range do not count",
		doors:   []knock.Door{bound()},
		packets: knocks(alice, 0, 110, 99, 150, 200, 130),
		want:    []string{"ssh 203.0.113.5 #4"},
	}, {
		name:    "the sweep opens nothing",
		doors:   []knock.Door{boundDoor("ssh", map[string][]uint16{"203.0.113.66": {110, 130, 150, 170}})},
		packets: sweep("203.0.113.66", 100, 199, 4),
		want:    nil,
	}, {
		name: "bound and static doors open in door order",
		doors: []knock.Door{
			door("static", 7000, 130),
			bound(),
		},
		packets: concat(knocks(alice, 0, 110, 150, 130), knocks(alice, 10*time.Second, 7000, 130)),
		want:    []string{"ssh 203.0.113.5 #2", "static 203.0.113.5 #4"},
	}, {
		name: "two periods, the one whose window holds the first knock opens",
		doors: []knock.Door{
			windowed(boundDoor("ssh", map[string][]uint16{alice: {110, 150}}), 0, 10*time.Second),
			windowed(boundDoor("ssh", map[string][]uint16{alice: {120, 160}}), 10*time.Second, 20*time.Second),
		},
		packets: concat(knocks(alice, 11*time.Second, 110, 150), knocks(alice, 13*time.Second, 120, 160)),
		want:    []string{"ssh 203.0.113.5 #3"},
	}})
}

// A reload that keeps a bound door's sequences (the same PerSource) keeps
// the attempts under way on it; one that replaces them drops them.
func TestBoundDoorReload(t *testing.T) {
	alice := "203.0.113.5"
	d := boundDoor("ssh", map[string][]uint16{alice: {110, 150, 130}})
	for _, tt := range []struct {
		name  string
		after knock.Door
		want  []string
	}{
		{"same sequences", d, []string{"ssh 203.0.113.5 #1"}},
		{"new sequences", boundDoor("ssh", map[string][]uint16{alice: {110, 150, 130}}), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := New([]knock.Door{d}, Options{IsLocal: isLocal})
			got := feed(t, m, knocks(alice, 0, 110))
			m.Reload([]knock.Door{tt.after})
			got = append(got, feed(t, m, knocks(alice, time.Second, 150, 130))...)
			if diff := diff(tt.want, got); diff != "" {
				t.Errorf("openings %s", diff)
			}
		})
	}
}

// The packet path stays allocation-free with a door derived per source
// (portlang's Deriver, as the daemon installs it), on valid knocks and on
// a flood of sources in its range.
func TestBoundDoorDoesNotAllocate(t *testing.T) {
	sh := portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}
	der, err := portlang.NewDeriver(make([]byte, 32), portlang.Params{Purpose: portlang.PurposeDoor, Name: "ssh", Period: 1}, sh)
	if err != nil {
		t.Fatal(err)
	}
	d := door("ssh")
	d.Sequence, d.PerSource = nil, der
	d.Rotating = &knock.Rotating{PortLo: sh.Lo, PortHi: sh.Hi, Protos: sh.Protos}
	var evs []knock.Event
	for s := range 8 {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(s + 1)})
		for _, st := range der.SequenceFor(src, nil) {
			evs = append(evs, knock.Event{Src: src, Dst: local, Proto: knock.TCP, Port: st.Port, Flags: knock.SYN})
		}
	}
	evs = append(evs, floodEvents(newRand(), 4096, t0, 25000)...)
	m := New(append(benchDoors(), d), Options{MaxAttempts: 1024, IsLocal: isLocal})
	out := make([]Match, 0, 8)
	n := 0
	allocs := testing.AllocsPerRun(10000, func() {
		ev := evs[n%len(evs)]
		ev.Time = t0.Add(time.Duration(n) * time.Microsecond)
		out = m.Handle(&ev, out[:0])
		n++
	})
	if allocs != 0 {
		t.Errorf("Handle allocates %v times per event, want 0", allocs)
	}
	if m.Stats().Opened == 0 {
		t.Error("no valid bound knock opened: the test did not exercise the derivation")
	}
}
