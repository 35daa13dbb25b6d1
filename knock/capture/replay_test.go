package capture

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/decode/decodetest"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.pcapng from decodetest.Frames")

// replayFile replays a testdata file and returns its events.
func replayFile(t *testing.T, name string, f Filter) ([]knock.Event, Counters) {
	t.Helper()
	file, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var got []knock.Event
	n, err := Replay(context.Background(), file, f, func(ev *knock.Event) { got = append(got, *ev) })
	if err != nil {
		t.Fatalf("Replay(%s) error: %v", name, err)
	}
	return got, n
}

func ev(src, dst string, proto knock.Proto, port uint16, flags knock.TCPFlags) knock.Event {
	return knock.Event{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: proto, Port: port, Flags: flags}
}

func showEvents(evs []knock.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %v > %v %v/%d flags %#x", e.Src, e.Dst, e.Proto, e.Port, uint8(e.Flags))
	}
	return b.String()
}

// withoutTimes drops the timestamps, checked separately, and the source
// ports, which the kernel chose when the files were made (the decoder's
// tests check that they are read).
func withoutTimes(evs []knock.Event) []knock.Event {
	out := slices.Clone(evs)
	for i := range out {
		out[i].Time, out[i].SrcPort = time.Time{}, 0
	}
	return out
}

// TestReplayCaptures replays files tcpdump wrote while knocking on lo and
// from a network namespace over a veth pair (see testdata/README.md).
func TestReplayCaptures(t *testing.T) {
	anyDst := musicDoors
	anyDst.Dst = nil
	loKnocks := []knock.Event{
		ev("127.0.0.1", "127.0.0.1", knock.TCP, 1000, knock.SYN),
		ev("::1", "::1", knock.TCP, 2069, knock.SYN),
		ev("127.0.0.1", "127.0.0.1", knock.UDP, 1001, 0),
		ev("::1", "::1", knock.UDP, 1002, 0),
	}
	vethKnocks := []knock.Event{
		ev("10.77.0.2", "10.77.0.1", knock.TCP, 1000, knock.SYN),
		ev("fd77::2", "fd77::1", knock.TCP, 1001, knock.SYN),
	}
	tests := []struct {
		file        string
		filter      Filter
		want        []knock.Event
		wantPackets uint64
		wantFirst   string // the first knock's capture time
	}{
		{"lo.pcap", musicDoors, loKnocks, 8, "06:44:34.363151"},
		{"veth.pcap", musicDoors, vethKnocks, 12, "06:44:35.751174"},
		// The SYN this host sent to 10.77.0.2:1000 is in the cooked
		// captures, marked outgoing: it is not a knock even without a
		// destination restriction.
		{"any-sll.pcap", anyDst, slices.Concat(loKnocks, vethKnocks), 18, "06:44:34.363149"},
		{"any-sll2.pcap", anyDst, slices.Concat(loKnocks, vethKnocks), 20, "06:44:34.363150"},
		{"any-sll2.pcap", Filter{Rules: []Rule{{knock.TCP, 1001, synOnly}}, Dst: []netip.Addr{netip.MustParseAddr("fd77::1")}}, vethKnocks[1:], 20, "06:44:35.993436"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, n := replayFile(t, tt.file, tt.filter)
			if !slices.Equal(withoutTimes(got), tt.want) {
				t.Errorf("Replay() events mismatch (-want +got):\n-%s\n+%s", showEvents(tt.want), showEvents(withoutTimes(got)))
			}
			want := Counters{Packets: tt.wantPackets, Events: uint64(len(tt.want))}
			if n != want {
				t.Errorf("Replay() counters = %+v, want %+v", n, want)
			}
			first, err := time.Parse(time.RFC3339Nano, "2026-11-21T"+tt.wantFirst+"Z")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 && !got[0].Time.Equal(first) {
				t.Errorf("first knock at %v, want the capture's %v", got[0].Time, first)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Time.Before(got[i-1].Time) {
					t.Errorf("knock %d at %v before knock %d at %v: want the capture's order", i, got[i].Time, i-1, got[i-1].Time)
				}
			}
		})
	}
}

// A file's capture checks each packet against the filter in force when
// it is read: SetFilter while the file plays (the daemon's filter follows
// reloads and one-time sequences) decides the packets after it, and what
// passes is what the new filter's EventFilter accepts.
func TestFileSetFilterWhilePlaying(t *testing.T) {
	anyDst := musicDoors
	anyDst.Dst = nil
	udpOnly := Filter{Rules: []Rule{{Proto: knock.UDP, Port: 1001}, {Proto: knock.UDP, Port: 1002}}}
	for _, file := range []string{"lo.pcap", "any-sll.pcap", "any-sll2.pcap"} {
		t.Run(file, func(t *testing.T) {
			all, _ := replayFile(t, file, anyDst)
			if len(all) < 2 {
				t.Fatalf("%s holds %d knocks, want at least 2", file, len(all))
			}
			m, err := NewEventFilter(udpOnly)
			if err != nil {
				t.Fatal(err)
			}
			// The first knock, then the rest that the UDP filter passes.
			want := all[:1]
			for _, e := range all[1:] {
				if m.Passes(&e) {
					want = append(want, e)
				}
			}
			if len(want) == len(all) || len(want) == 1 {
				t.Fatalf("%s: the swap would change nothing to test (%d knocks, %d after)", file, len(all), len(want))
			}
			f, err := os.Open(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := OpenFile(f, anyDst, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !c.FromFile() {
				t.Error("FromFile() = false for OpenFile's capture")
			}
			var got []knock.Event
			err = c.Run(context.Background(), func(ev *knock.Event) {
				got = append(got, *ev)
				if len(got) == 1 {
					if err := c.SetFilter(udpOnly); err != nil {
						t.Fatalf("SetFilter: %v", err)
					}
				}
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("knocks with the filter swapped after the first (-want +got):\n-%s\n+%s", showEvents(want), showEvents(got))
			}
		})
	}
}

// TestReplayPcapng replays a pcapng file holding every frame of
// decodetest.Frames, one interface per link type: the knocks come out in
// file order, with the file's timestamps.
func TestReplayPcapng(t *testing.T) {
	path := filepath.Join("testdata", "frames.pcapng")
	if *update {
		if err := os.WriteFile(path, framesPcapng(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var want []knock.Event
	for _, f := range decodetest.Frames {
		if f.Knock {
			want = append(want, f.Want)
		}
	}
	all := Filter{}
	for _, e := range want {
		all.Rules = append(all.Rules, Rule{Proto: e.Proto, Port: e.Port})
	}
	got, n := replayFile(t, "frames.pcapng", all)
	want = withoutTimes(want)
	if !slices.Equal(withoutTimes(got), want) {
		t.Errorf("Replay() events mismatch (-want +got):\n-%s\n+%s", showEvents(want), showEvents(withoutTimes(got)))
	}
	if n.Packets != uint64(len(decodetest.Frames)) || n.DecodeErrors != 0 {
		t.Errorf("Replay() counters = %+v, want %d packets and no decode error", n, len(decodetest.Frames))
	}
	if len(got) > 0 && !got[0].Time.Equal(fixtureEpoch) {
		t.Errorf("first event at %v, want the file's %v", got[0].Time, fixtureEpoch)
	}
}

var fixtureEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// framesPcapng writes decodetest.Frames as a pcapng file.
func framesPcapng(t *testing.T) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "ethernet", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	ifaces := map[decode.LinkType]int{decode.LinkEthernet: 0}
	for i, f := range decodetest.Frames {
		id, ok := ifaces[f.Link]
		if !ok {
			id, err = w.AddInterface(pcapgo.NgInterface{Name: f.Link.String(), LinkType: layers.LinkType(f.Link), SnapLength: 65535})
			if err != nil {
				t.Fatal(err)
			}
			ifaces[f.Link] = id
		}
		ci := gopacket.CaptureInfo{Timestamp: fixtureEpoch.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f.Data), Length: len(f.Data), InterfaceIndex: id}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReplayErrors(t *testing.T) {
	pcapOf := func(link layers.LinkType, frames ...[]byte) []byte {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, link); err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			w.WritePacket(gopacket.CaptureInfo{Timestamp: fixtureEpoch, CaptureLength: len(f), Length: len(f)}, f)
		}
		return buf.Bytes()
	}
	syn := frameNamed(t, "lo: IPv4 TCP SYN (Ethernet, zero addresses)").Data
	whole := pcapOf(layers.LinkTypeEthernet, syn, syn)
	tests := []struct {
		name    string
		file    []byte
		filter  Filter
		wantErr string
	}{
		{"empty file", nil, musicDoors, "reading the file header"},
		{"not a capture", []byte("# this is a text file, not a capture\n"), musicDoors, "not a pcap or pcapng file"},
		{"unsupported link type", pcapOf(layers.LinkTypeIEEE80211Radio, syn), musicDoors, "link type linktype(127) is not one knockbeep decodes"},
		{"last record cut short", whole[:len(whole)-10], musicDoors, "after 1 packets"},
		{"invalid filter", whole, Filter{Rules: []Rule{{Proto: 1}}}, "neither tcp nor udp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Replay(context.Background(), bytes.NewReader(tt.file), tt.filter, func(*knock.Event) {})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "capture: ") {
				t.Errorf("Replay() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReplayStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	file, err := os.ReadFile(filepath.Join("testdata", "lo.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	n, err := Replay(ctx, bytes.NewReader(file), musicDoors, func(*knock.Event) {
		got++
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Replay() error = %v, want context.Canceled", err)
	}
	if got != 1 || n.Events != 1 {
		t.Errorf("Replay() handled %d events (counted %d) after cancelling at the first, want 1", got, n.Events)
	}
}
