package portlang

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// vector is one test vector block of docs/port-language.md.
type vector map[string]string

// readVectors reads the ```vector blocks of the port language document.
func readVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("../../docs/port-language.md")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	var cur vector
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "```vector":
			cur = vector{}
		case line == "```" && cur != nil:
			vs = append(vs, cur)
			cur = nil
		case cur != nil:
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("vector line %q is not KEY: VALUE", line)
			}
			cur[k] = v
		}
	}
	if len(vs) < 5 {
		t.Fatalf("found %d test vectors in docs/port-language.md, want at least 5", len(vs))
	}
	return vs
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

// The document's vectors hold: the message is built as it says, block 0 is
// HMAC-SHA256 over it (computed here with crypto/hmac, not through the
// package), and the sequence and replay id are what the package derives.
func TestDocumentVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v["vector"], func(t *testing.T) {
			key := unhex(t, v["key"])
			period, err := strconv.ParseInt(v["period"], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			p := Params{Purpose: v["purpose"], Name: v["name"], Period: period}
			if v["source"] != "-" {
				p.Source = netip.MustParseAddr(v["source"])
			}
			msg, err := Message(p)
			if err != nil {
				t.Fatal(err)
			}
			// The message, spelled out from the document's rules.
			want := []byte(Version + "\x00" + p.Purpose + "\x00" + p.Name + "\x00")
			want = binary.BigEndian.AppendUint64(want, uint64(period))
			switch {
			case !p.Source.IsValid():
				want = append(want, 0)
			case p.Source.Is4():
				a := p.Source.As4()
				want = append(append(want, 4), a[:]...)
			default:
				a := p.Source.As16()
				want = append(append(want, 6), a[:]...)
			}
			if !bytes.Equal(msg, want) || !bytes.Equal(msg, unhex(t, v["message"])) {
				t.Errorf("message\n got %x\nrule %x\n doc %s", msg, want, v["message"])
			}
			mac := hmac.New(sha256.New, key)
			mac.Write(append(msg, 0, 0, 0, 0))
			if got := mac.Sum(nil); !bytes.Equal(got, unhex(t, v["block0"])) {
				t.Errorf("block 0 by crypto/hmac = %x, document %s", got, v["block0"])
			}
			s, _ := NewStream(key, p)
			if b := s.Block(0); !bytes.Equal(b[:], unhex(t, v["block0"])) {
				t.Errorf("Stream.Block(0) = %x, document %s", b, v["block0"])
			}
			var sh Shape
			sh.Length, _ = strconv.Atoi(v["length"])
			lo, hi, _ := strings.Cut(v["port_range"], "-")
			l, _ := strconv.Atoi(lo)
			h, _ := strconv.Atoi(hi)
			sh.Lo, sh.Hi = uint16(l), uint16(h)
			for _, name := range strings.Split(v["protocols"], ",") {
				sh.Protos = append(sh.Protos, map[string]knock.Proto{"tcp": knock.TCP, "udp": knock.UDP}[name])
			}
			seq, err := Sequence(key, p, sh)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, st := range seq {
				steps = append(steps, fmt.Sprintf("%d/%s", st.Port, st.Proto))
			}
			if got := strings.Join(steps, " "); got != v["sequence"] {
				t.Errorf("sequence = %s, document %s", got, v["sequence"])
			}
			// The matcher's per-source derivation gives the same.
			d, err := NewDeriver(key, Params{Purpose: p.Purpose, Name: p.Name, Period: p.Period}, sh)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.SequenceFor(p.Source, nil); !slices.Equal(got, seq) {
				t.Errorf("Deriver.SequenceFor(%v) = %v, Sequence %v", p.Source, got, seq)
			}
			id, _ := ReplayID(p)
			if got := hex.EncodeToString(id[:]); got != v["replay_id"] {
				t.Errorf("replay id = %s, document %s", got, v["replay_id"])
			}
		})
	}
}

// The first step of a vector follows from block 0 by the document's rule,
// worked by hand here: the first word modulo N, when below the limit.
func TestFirstStepByHand(t *testing.T) {
	v := readVectors(t)[0]
	b := unhex(t, v["block0"])
	w := binary.BigEndian.Uint32(b)
	const n = 40000 // 20000-59999, tcp
	if limit := uint64(1<<32) - (1<<32)%n; uint64(w) >= limit {
		t.Skip("the first word is above the limit: pick another vector")
	}
	first := strings.Fields(v["sequence"])[0]
	if want := fmt.Sprintf("%d/tcp", 20000+w%n); first != want {
		t.Errorf("first step %s, by hand %s", first, want)
	}
}

// Sequences have distinct ports within the range and only the given
// protocols, across many periods; neighbouring periods differ.
func TestSequenceShape(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sh := Shape{Length: 6, Lo: 1000, Hi: 1011, Protos: []knock.Proto{knock.TCP, knock.UDP}}
	seen := map[string]bool{}
	for period := int64(-50); period < 50; period++ {
		seq, err := Sequence(key, Params{Purpose: PurposeDoor, Name: "d", Period: period}, sh)
		if err != nil {
			t.Fatal(err)
		}
		ports := map[uint16]bool{}
		for _, st := range seq {
			if st.Port < sh.Lo || st.Port > sh.Hi || ports[st.Port] || (st.Proto != knock.TCP && st.Proto != knock.UDP) {
				t.Fatalf("period %d: bad sequence %v", period, seq)
			}
			ports[st.Port] = true
		}
		seen[fmt.Sprint(seq)] = true
	}
	if len(seen) < 95 {
		t.Errorf("only %d distinct sequences in 100 periods", len(seen))
	}
}

func TestShapeCheck(t *testing.T) {
	tcp := []knock.Proto{knock.TCP}
	tests := []struct {
		name string
		sh   Shape
		want string
	}{
		{"default", Shape{Length: 4, Lo: 20000, Hi: 59999, Protos: tcp}, ""},
		{"zero length", Shape{Length: 0, Lo: 20000, Hi: 59999, Protos: tcp}, "length 0: a sequence needs at least one knock"},
		{"range too small", Shape{Length: 4, Lo: 100, Hi: 106, Protos: tcp}, "port range 100-106 holds 7 ports: too few for distinct ports in a sequence of 4 (give at least twice the length)"},
		{"reversed range", Shape{Length: 4, Lo: 200, Hi: 100, Protos: tcp}, "port range 200-100: give LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535"},
		{"udp before tcp", Shape{Length: 4, Lo: 100, Hi: 200, Protos: []knock.Proto{knock.UDP, knock.TCP}}, "protocols: tcp, udp or tcp,udp (in that order)"},
		{"no protocol", Shape{Length: 4, Lo: 100, Hi: 200, Protos: nil}, "no protocol: give tcp, udp or tcp,udp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := tt.sh.Check(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Check() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPeriods(t *testing.T) {
	tests := []struct {
		t      time.Time
		period time.Duration
		want   int64
	}{
		{time.Unix(0, 0), 30 * time.Second, 0},
		{time.Unix(29, 999999999), 30 * time.Second, 0},
		{time.Unix(30, 0), 30 * time.Second, 1},
		{time.Unix(-1, 0), 30 * time.Second, -1},
		{time.Unix(1770000000, 0), 2 * time.Second, 885000000},
	}
	for _, tt := range tests {
		if got := PeriodAt(tt.t, tt.period); got != tt.want {
			t.Errorf("PeriodAt(%v, %v) = %d, want %d", tt.t.Unix(), tt.period, got, tt.want)
		}
		if start := PeriodStart(tt.want, tt.period); start.After(tt.t) || !tt.t.Before(start.Add(tt.period)) {
			t.Errorf("PeriodStart(%d) = %v does not hold %v", tt.want, start.Unix(), tt.t.Unix())
		}
	}
}

// A Deriver reused across sources gives each the sequence Sequence gives
// it (the message is rebuilt per source, not appended to), IPv4-mapped
// addresses count as IPv4, and drawing allocates nothing: the matcher
// calls it for every knock in a bound door's range.
func TestDeriverPerSource(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sh := Shape{Length: 5, Lo: 20000, Hi: 20099, Protos: []knock.Proto{knock.TCP, knock.UDP}}
	base := Params{Purpose: PurposeDoor, Name: "ssh", Period: 1234}
	d, err := NewDeriver(key, base, sh)
	if err != nil {
		t.Fatal(err)
	}
	sources := []netip.Addr{
		netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7"), {},
		netip.MustParseAddr("192.0.2.8"), netip.MustParseAddr("2001:db8::7"),
	}
	buf := make([]knock.Step, 0, sh.Length)
	seen := map[string]bool{}
	for _, src := range sources {
		p := base
		p.Source = src
		want, err := Sequence(key, p, sh)
		if err != nil {
			t.Fatal(err)
		}
		got := d.SequenceFor(src, buf)
		if !slices.Equal(got, want) {
			t.Errorf("source %v: Deriver %v, Sequence %v", src, got, want)
		}
		seen[fmt.Sprint(got)] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d distinct sequences for 4 distinct sources: the source is not in the derivation", len(seen))
	}
	mapped := d.SequenceFor(netip.MustParseAddr("::ffff:192.0.2.7"), nil)
	if plain := d.SequenceFor(netip.MustParseAddr("192.0.2.7"), nil); !slices.Equal(mapped, plain) {
		t.Errorf("::ffff:192.0.2.7 gives %v, 192.0.2.7 gives %v: a mapped address must count as IPv4", mapped, plain)
	}
	src := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { d.SequenceFor(src, buf) }); n != 0 {
		t.Errorf("SequenceFor allocates %v times per call, want 0", n)
	}
	if d.Len() != sh.Length {
		t.Errorf("Len = %d, want %d", d.Len(), sh.Length)
	}
}

func TestNewDeriverRefuses(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	if _, err := NewDeriver(key, Params{Purpose: PurposeDoor, Name: "a\x00b"}, Shape{Length: 2, Lo: 1, Hi: 10, Protos: []knock.Proto{knock.TCP}}); err == nil {
		t.Error("a name with a zero byte was accepted")
	}
	if _, err := NewDeriver(key, Params{Purpose: PurposeDoor, Name: "ssh"}, Shape{Length: 8, Lo: 1, Hi: 10, Protos: []knock.Proto{knock.TCP}}); err == nil {
		t.Error("a range too small for the length was accepted")
	}
}

func BenchmarkDeriverSequenceFor(b *testing.B) {
	d, err := NewDeriver(bytes.Repeat([]byte{7}, 32), Params{Purpose: PurposeDoor, Name: "ssh", Period: 1},
		Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]knock.Step, 0, 4)
	src := netip.MustParseAddr("203.0.113.9")
	b.ReportAllocs()
	for b.Loop() {
		buf = d.SequenceFor(src, buf)
	}
}

// A door that answers (LastUDP) knocks the same ports, with the last step
// a UDP datagram, in both derivations.
func TestLastUDP(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	p := Params{Purpose: PurposeDoor, Name: "ssh", Period: 9}
	sh := Shape{Length: 4, Lo: 20000, Hi: 20999, Protos: []knock.Proto{knock.TCP}}
	plain, _ := Sequence(key, p, sh)
	sh.LastUDP = true
	answering, _ := Sequence(key, p, sh)
	want := slices.Clone(plain)
	want[3].Proto = knock.UDP
	if !slices.Equal(answering, want) {
		t.Errorf("LastUDP: %v, want %v", answering, want)
	}
	d, _ := NewDeriver(key, p, sh)
	src := netip.MustParseAddr("192.0.2.7")
	p.Source = src
	bound, _ := Sequence(key, p, sh)
	if got := d.SequenceFor(src, nil); !slices.Equal(got, bound) || got[3].Proto != knock.UDP {
		t.Errorf("Deriver with LastUDP: %v, Sequence %v", got, bound)
	}
}
