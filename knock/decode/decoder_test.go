package decode_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/decode/decodetest"
)

var captured = time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)

func TestDecodeFrames(t *testing.T) {
	d := decode.NewDecoder()
	for _, f := range decodetest.Frames {
		t.Run(f.Name, func(t *testing.T) {
			var got knock.Event
			ok, err := d.Decode(f.Link, f.Data, captured, &got)
			if err != nil {
				t.Fatalf("Decode() error: %v", err)
			}
			if ok != f.Knock {
				t.Fatalf("Decode() knock = %v, want %v", ok, f.Knock)
			}
			if !ok {
				return
			}
			want := f.Want
			want.Time = captured
			if got != want {
				t.Errorf("Decode() event mismatch (-want +got):\n-%v\n+%v", show(want), show(got))
			}
		})
	}
}

func show(ev knock.Event) string {
	return fmt.Sprintf("{%s %v > %v %v/%d flags %#x}", ev.Time.Format(time.RFC3339Nano), ev.Src, ev.Dst, ev.Proto, ev.Port, uint8(ev.Flags))
}

// frame returns a copy of the named frame of decodetest.Frames, changed by
// edit.
func frame(t testing.TB, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	for _, f := range decodetest.Frames {
		if f.Name == name {
			return edit(slices.Clone(f.Data))
		}
	}
	t.Fatalf("no frame %q in decodetest.Frames", name)
	return nil
}

func keep(b []byte) []byte { return b }

func TestDecodeNotKnocksAndMalformed(t *testing.T) {
	const (
		lo4   = "lo: IPv4 TCP SYN (Ethernet, zero addresses)"
		lo6   = "lo: IPv6 TCP SYN"
		udp4  = "lo: IPv4 UDP"
		veth4 = "veth: IPv4 TCP SYN"
		ext6  = "IPv6 hop-by-hop, destination options, first fragment, TCP SYN"
		sll2  = "any (SLL2): IPv6 TCP SYN on lo"
		raw4  = "raw: IPv4 TCP SYN"
	)
	tests := []struct {
		name string
		link decode.LinkType
		data []byte
		// wantErr is a part of the expected error; "" expects no error and
		// no knock.
		wantErr string
	}{
		{"empty Ethernet frame", decode.LinkEthernet, nil, "too small"},
		{"Ethernet header alone, announcing IPv4", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { return b[:14] }), "ends before its IPv4 header"},
		{"IPv4 header cut at 19 bytes", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { return b[:14+19] }), "less than 20"},
		{"IPv4 header length 4 words", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { b[14] = 0x44; return b }), "header length"},
		{"IPv4 EtherType carrying version 6", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { b[14] = 0x65; return b }), "version other than 4"},
		{"IPv4 packet ending after its header", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { return b[:14+20] }), "ends before its TCP header"},
		{"TCP header cut at 19 bytes", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { return b[:14+20+19] }), "TCP header shorter than 20"},
		{"TCP data offset 4 words", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { b[14+20+12] = 0x40; return b }), "data offset below 5"},
		{"TCP options cut short", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { return b[:len(b)-1] }), "options cut short"},
		{"UDP header cut at 7 bytes", decode.LinkEthernet, frame(t, udp4, func(b []byte) []byte { return b[:14+20+7] }), "UDP header"},
		{"IPv6 header cut at 39 bytes", decode.LinkEthernet, frame(t, lo6, func(b []byte) []byte { return b[:14+39] }), "shorter than 40"},
		{"IPv6 EtherType carrying version 4", decode.LinkEthernet, frame(t, lo6, func(b []byte) []byte { b[14] = 0x41; return b }), "version other than 6"},
		{"IPv6 hop-by-hop header cut", decode.LinkEthernet, frame(t, ext6, func(b []byte) []byte { return b[:14+40+5] }), "extension header cut short"},
		{"IPv6 hop-by-hop header longer than the packet", decode.LinkEthernet, frame(t, ext6, func(b []byte) []byte { b[14+40+1] = 200; return b }), "extension header cut short"},
		{"three VLAN tags", decode.LinkEthernet, frame(t, veth4, func(b []byte) []byte {
			return slices.Concat(b[:12], []byte{0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3}, b[12:])
		}), "more than two VLAN tags"},
		{"SLL2 header cut", decode.LinkLinuxSLL2, frame(t, sll2, func(b []byte) []byte { return b[:19] }), "too small"},
		{"raw frame of IP version 5", decode.LinkRaw, frame(t, raw4, func(b []byte) []byte { b[0] = 0x55; return b }), "IP version 5"},
		{"empty raw frame", decode.LinkRaw, nil, "empty"},
		{"unsupported link type", decode.LinkType(105), frame(t, lo4, keep), "unsupported link type"},
		// Found by FuzzFilterAgreement: gopacket reads 0xffff as IPv4.
		{"Ethernet with the reserved EtherType 0xffff", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { b[12], b[13] = 0xff, 0xff; return b }), ""},
		{"BSD loopback of an unknown family", decode.LinkNull, []byte{99, 0, 0, 0, 1, 2, 3, 4}, ""},
		{"IPv4 carrying ICMP", decode.LinkEthernet, frame(t, lo4, func(b []byte) []byte { b[14+9] = 1; return b }), ""},
		{"IPv6 with more extension headers than walked", decode.LinkEthernet, frame(t, lo6, func(b []byte) []byte {
			n := decode.MaxIPv6ExtensionHeaders + 1
			ext := make([]byte, 0, 8*n)
			for i := 0; i < n; i++ {
				next := byte(60)
				if i == n-1 {
					next = 6
				}
				ext = append(ext, next, 0, 1, 4, 0, 0, 0, 0)
			}
			b[14+6] = 60
			b[14+5] += byte(len(ext))
			return slices.Concat(b[:14+40], ext, b[14+40:])
		}), ""},
	}
	d := decode.NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev knock.Event
			ok, err := d.Decode(tt.link, tt.data, captured, &ev)
			if ok {
				t.Fatalf("Decode() = knock %v, want none", show(ev))
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Decode() error = %v, want none", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Decode() error = nil, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Decode() error = %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "decode: "):
				t.Errorf("Decode() error = %v, want the package prefix", err)
			}
		})
	}
}

// TestDecodeTruncated cuts every frame at every length: decoding must not
// panic, and whatever it still calls a knock must be the frame's knock,
// since cutting only removes trailing bytes.
func TestDecodeTruncated(t *testing.T) {
	d := decode.NewDecoder()
	for _, f := range decodetest.Frames {
		for n := 0; n < len(f.Data); n++ {
			var ev knock.Event
			ok, _ := d.Decode(f.Link, f.Data[:n], captured, &ev)
			if !ok {
				continue
			}
			want := f.Want
			want.Time = captured
			if !f.Knock || ev != want {
				t.Errorf("%s cut to %d bytes: Decode() = knock %v, want %v (knock %v)", f.Name, n, show(ev), show(want), f.Knock)
			}
		}
	}
}

// TestDecodeDoesNotAllocate holds the capture hot path to zero allocations
// per frame, for every kind of frame, once the decoder is warm.
func TestDecodeDoesNotAllocate(t *testing.T) {
	d := decode.NewDecoder()
	var ev knock.Event
	for _, f := range decodetest.Frames {
		d.Decode(f.Link, f.Data, captured, &ev)
	}
	for _, f := range decodetest.Frames {
		allocs := testing.AllocsPerRun(100, func() {
			d.Decode(f.Link, f.Data, captured, &ev)
		})
		if allocs != 0 {
			t.Errorf("%s: Decode() allocates %v times per frame, want 0", f.Name, allocs)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range decodetest.Frames {
		f.Add(uint8(slices.Index(decode.LinkTypes, fr.Link)), fr.Data)
	}
	reused := decode.NewDecoder()
	f.Fuzz(func(t *testing.T, linkIndex uint8, data []byte) {
		link := decode.LinkTypes[int(linkIndex)%len(decode.LinkTypes)]
		var ev knock.Event
		ok, err := reused.Decode(link, data, captured, &ev)
		if ok && err != nil {
			t.Fatalf("Decode() = knock and error %v", err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "decode: ") {
			t.Errorf("Decode() error %q lacks the package prefix", err)
		}
		// A decoder that decoded other frames before must give what a
		// fresh one gives: no state leaks from one frame to the next.
		var fresh knock.Event
		freshOK, freshErr := decode.NewDecoder().Decode(link, data, captured, &fresh)
		if freshOK != ok || (freshErr == nil) != (err == nil) || (ok && fresh != ev) {
			t.Fatalf("reused decoder: %v %v %v; fresh decoder: %v %v %v", ok, show(ev), err, freshOK, show(fresh), freshErr)
		}
		if !ok {
			return
		}
		switch ev.Proto {
		case knock.TCP:
			if ev.Flags&^0x3f != 0 {
				t.Errorf("TCP flags %#x outside the six knock flags", uint8(ev.Flags))
			}
		case knock.UDP:
			if ev.Flags != 0 {
				t.Errorf("UDP event with flags %#x", uint8(ev.Flags))
			}
		default:
			t.Errorf("event with protocol %v", ev.Proto)
		}
		if !ev.Src.IsValid() || !ev.Dst.IsValid() || ev.Src.Is4() != ev.Dst.Is4() {
			t.Errorf("event addresses %v > %v", ev.Src, ev.Dst)
		}
		if !ev.Time.Equal(captured) {
			t.Errorf("event time %v, want %v", ev.Time, captured)
		}
	})
}
