package match

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// t0 is the fake capture clock's origin: tests give every event a time
// relative to it instead of sleeping.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// local is the host's address in tests; other is someone else's.
var (
	local = netip.MustParseAddr("192.0.2.1")
	other = netip.MustParseAddr("198.51.100.99")
)

func isLocal(a netip.Addr) bool { return a == local }

func tcp(port uint16) knock.Step { return knock.Step{Proto: knock.TCP, Port: port} }
func udp(port uint16) knock.Step { return knock.Step{Proto: knock.UDP, Port: port} }

func tcpSeq(ports ...uint16) []knock.Step {
	seq := make([]knock.Step, len(ports))
	for i, p := range ports {
		seq[i] = tcp(p)
	}
	return seq
}

// door returns a knockd-default door: TCP SYN knocks, 25 s from the first.
func door(name string, ports ...uint16) knock.Door {
	return knock.Door{
		Name:     name,
		Sequence: tcpSeq(ports...),
		Flags:    knock.FlagMatch{Set: knock.SYN},
		Timeout:  25 * time.Second,
	}
}

// A kn is one packet of a test: a SYN to local unless it says otherwise.
type kn struct {
	at    time.Duration
	src   string
	port  uint16
	proto knock.Proto    // TCP when zero
	flags knock.TCPFlags // SYN when zero and TCP
	dst   netip.Addr     // local when zero
}

func (k kn) event() knock.Event {
	ev := knock.Event{
		Time:  t0.Add(k.at),
		Src:   netip.MustParseAddr(k.src),
		Dst:   k.dst,
		Proto: k.proto,
		Port:  k.port,
		Flags: k.flags,
	}
	if ev.Proto == 0 {
		ev.Proto = knock.TCP
	}
	if ev.Proto == knock.TCP && ev.Flags == 0 {
		ev.Flags = knock.SYN
	}
	if !ev.Dst.IsValid() {
		ev.Dst = local
	}
	return ev
}

// knocks sends ports from src one second apart, starting at start.
func knocks(src string, start time.Duration, ports ...uint16) []kn {
	ks := make([]kn, len(ports))
	for i, p := range ports {
		ks[i] = kn{at: start + time.Duration(i)*time.Second, src: src, port: p}
	}
	return ks
}

func concat(parts ...[]kn) []kn {
	var all []kn
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// feed runs the packets through m in order and describes every opening as
// "door src #n", n being the packet's index, checking m's internal
// consistency after each packet.
func feed(t testing.TB, m *Matcher, ks []kn) []string {
	t.Helper()
	var opened []string
	var out []Match
	for n, k := range ks {
		ev := k.event()
		out = m.Handle(&ev, out[:0])
		for _, o := range out {
			opened = append(opened, fmt.Sprintf("%s %s #%d", o.Name, o.Src, n))
			if o.Event != ev {
				t.Errorf("packet #%d: Match.Event = %+v, want the packet that completed the sequence %+v", n, o.Event, ev)
			}
		}
		if err := m.check(); err != nil {
			t.Fatalf("after packet #%d: %v", n, err)
		}
	}
	return opened
}

// diff renders want and got as "(-want +got)" lines, or "" when equal.
func diff(want, got []string) string {
	if strings.Join(want, "\n") == strings.Join(got, "\n") && len(want) == len(got) {
		return ""
	}
	var b strings.Builder
	b.WriteString("(-want +got)\n")
	inGot := make(map[string]int)
	for _, g := range got {
		inGot[g]++
	}
	inWant := make(map[string]int)
	for _, w := range want {
		inWant[w]++
	}
	for _, w := range want {
		if inGot[w] == 0 {
			fmt.Fprintf(&b, "-%s\n", w)
		} else {
			inGot[w]--
			fmt.Fprintf(&b, " %s\n", w)
		}
	}
	for _, g := range got {
		if inWant[g] == 0 {
			fmt.Fprintf(&b, "+%s\n", g)
		} else {
			inWant[g]--
		}
	}
	return b.String()
}

// check verifies the matcher's internal structures: every live record is in
// exactly the rank list its rank names and in its source's list, in door
// order, reachable through the index; every other record is free.
func (m *Matcher) check() error {
	seen := make([]bool, len(m.recs))
	live := 0
	for rank := range m.ranks {
		prev := int32(empty)
		for i := m.ranks[rank].oldest; i != empty; i = m.recs[i].next {
			r := &m.recs[i]
			if seen[i] {
				return fmt.Errorf("record %d twice in the rank lists", i)
			}
			seen[i] = true
			live++
			if r.rank != int32(rank) || r.prev != prev {
				return fmt.Errorf("record %d in rank list %d has rank %d, prev %d (want %d)", i, rank, r.rank, r.prev, prev)
			}
			if r.stage < 0 || int(r.door) >= len(m.doors) || int(r.stage) >= max(1, m.doors[r.door].seqLen) {
				return fmt.Errorf("record %d: door %d stage %d out of range", i, r.door, r.stage)
			}
			if r.stage == 0 && !r.cooling {
				return fmt.Errorf("record %d holds neither an attempt nor a cooldown", i)
			}
			if m.findRecord(r.src, r.door) != i {
				return fmt.Errorf("record %d (%s, door %d) not found through the index", i, r.src, r.door)
			}
			prev = i
		}
		if m.ranks[rank].newest != prev {
			return fmt.Errorf("rank list %d: newest %d, last walked %d", rank, m.ranks[rank].newest, prev)
		}
	}
	if live != m.live {
		return fmt.Errorf("%d records in rank lists, live count %d", live, m.live)
	}
	free := 0
	for i := m.free; i != empty; i = m.recs[i].next {
		if seen[i] || m.recs[i].rank != empty {
			return fmt.Errorf("record %d both free and live", i)
		}
		free++
		if free > len(m.recs) {
			return errors.New("free list loops")
		}
	}
	if free+live != len(m.recs) {
		return fmt.Errorf("%d free + %d live != %d records", free, live, len(m.recs))
	}
	sources := 0
	for _, s := range m.index.slots {
		head := s.rec
		if head == empty {
			continue
		}
		if s.hash != uint32(m.index.hash(m.recs[head].src)) {
			return fmt.Errorf("the index slot of %s holds another source's hash", m.recs[head].src)
		}
		sources++
		for i := head; m.recs[i].nextOfSource != empty; i = m.recs[i].nextOfSource {
			if n := m.recs[i].nextOfSource; m.recs[n].door <= m.recs[i].door || m.recs[n].src != m.recs[i].src {
				return fmt.Errorf("source list of %s out of order at record %d", m.recs[i].src, i)
			}
		}
	}
	if sources > live {
		return fmt.Errorf("%d sources indexed but only %d records", sources, live)
	}
	return nil
}
