package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
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

	"github.com/knockbeep/knockbeep/beeper/beepertest"
	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/sequence"
)

// A packet is one frame of a test capture file.
type packet struct {
	at       time.Duration // after the capture's start
	src, dst netip.Addr
	proto    knock.Proto
	port     uint16
	flags    knock.TCPFlags // TCP only
}

var captureStart = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// syn is a TCP SYN, the usual knock.
func syn(at time.Duration, src, dst string, port uint16) packet {
	return tcp(at, src, dst, port, knock.SYN)
}

func tcp(at time.Duration, src, dst string, port uint16, flags knock.TCPFlags) packet {
	return packet{at: at, src: netip.MustParseAddr(src), dst: netip.MustParseAddr(dst), proto: knock.TCP, port: port, flags: flags}
}

func udp(at time.Duration, src, dst string, port uint16) packet {
	return packet{at: at, src: netip.MustParseAddr(src), dst: netip.MustParseAddr(dst), proto: knock.UDP, port: port}
}

// pcapFile writes packets as a pcap file of raw IP frames (what Linux's
// capture reads), with gopacket's serializer and pcapgo's writer.
func pcapFile(t testing.TB, packets ...packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		writePacket(t, w, p)
	}
	return buf.Bytes()
}

func writePacket(t testing.TB, w *pcapgo.Writer, p packet) {
	t.Helper()
	data := frame(t, p)
	ci := gopacket.CaptureInfo{Timestamp: captureStart.Add(p.at), CaptureLength: len(data), Length: len(data)}
	if err := w.WritePacket(ci, data); err != nil {
		t.Fatal(err)
	}
}

func frame(t testing.TB, p packet) []byte {
	t.Helper()
	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	proto := layers.IPProtocol(p.proto)
	if p.src.Is4() {
		v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
		ip, ipLayer = v4, v4
	} else {
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
		ip, ipLayer = v6, v6
	}
	var l4 gopacket.SerializableLayer
	switch p.proto {
	case knock.TCP:
		t := &layers.TCP{SrcPort: 40000, DstPort: layers.TCPPort(p.port), Seq: 1, Window: 64240,
			FIN: p.flags&knock.FIN != 0, SYN: p.flags&knock.SYN != 0, RST: p.flags&knock.RST != 0,
			PSH: p.flags&knock.PSH != 0, ACK: p.flags&knock.ACK != 0, URG: p.flags&knock.URG != 0}
		t.SetNetworkLayerForChecksum(ip)
		l4 = t
	case knock.UDP:
		u := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(p.port)}
		u.SetNetworkLayerForChecksum(ip)
		l4 = u
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ipLayer, l4, gopacket.Payload([]byte{0})); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// planPackets turns a composed plan into SYNs from src, 1 ms apart from
// start.
func planPackets(plan sequence.Plan, start time.Duration, src, dst string) []packet {
	var ps []packet
	for i, k := range plan.Knocks {
		ps = append(ps, syn(start+time.Duration(i)*time.Millisecond, src, dst, k.Port(plan.Protocol)))
	}
	return ps
}

// interleave merges packet lists by time, stably.
func interleave(lists ...[]packet) []packet {
	var all []packet
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b packet) int { return int(a.at - b.at) })
	return all
}

// testLogger returns a logger whose lines (slog's text format, as the
// daemon writes them) the test reads, and which are shown if it fails.
func testLogger(t testing.TB) (*slog.Logger, *logtest.Buffer) {
	return logtest.NewText(t)
}

// testConfig parses TOML written for a test, with {{DIR}} standing for a
// fresh directory, and returns the config and its file.
func testConfig(t testing.TB, dir, text string) (*config.Config, string) {
	t.Helper()
	path := filepath.Join(dir, "knockbeepd.toml")
	writeFile(t, path, strings.ReplaceAll(text, "{{DIR}}", dir))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the test's config: %v", err)
	}
	return cfg, path
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replay runs a daemon over a capture file to the end. Without a Logger
// in opts the log goes where cfg says.
func replay(t testing.TB, cfg *config.Config, opts Options, file []byte) *Daemon {
	t.Helper()
	opts.Replay = bytes.NewReader(file)
	d, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return d
}

// A playedSong is an archived pool and its WAV, if any.
type playedSong struct {
	pool, wav string
	steps     []sequence.PoolStep
}

// playedSongs reads the songs under STATE_DIR/played, oldest first.
func playedSongs(t testing.TB, stateDir string) []playedSong {
	t.Helper()
	pools, err := filepath.Glob(filepath.Join(stateDir, "played", "*.pool"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pools)
	var out []playedSong
	for _, p := range pools {
		s := playedSong{pool: p, steps: readPool(t, p)}
		if wav := strings.TrimSuffix(p, ".pool") + ".wav"; fileExists(wav) {
			s.wav = wav
		}
		out = append(out, s)
	}
	return out
}

func readPool(t testing.TB, path string) []sequence.PoolStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps, warnings, err := sequence.LoadPool(f, sequence.PoolOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("pool %s: %v %v", path, err, warnings)
	}
	return steps
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// diffTones describes the first differences between two tone lists; ""
// when they are equal.
func diffTones(want, got []sequence.Tone) string {
	if slices.Equal(want, got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d tones wanted, %d got (-want +got):\n", len(want), len(got))
	shown := 0
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = fmt.Sprint(want[i])
		}
		if i < len(got) {
			g = fmt.Sprint(got[i])
		}
		if w != g && shown < 5 {
			fmt.Fprintf(&b, "  tone %d: -%s +%s\n", i, w, g)
			shown++
		}
	}
	return b.String()
}

// checkWAV decodes a played WAV and compares its notes with want, the
// compiled pool: every tone's pitch within 1 % (a semitone is 6 %), its
// length and the silence after it within 1 ms.
func checkWAV(t testing.TB, path string, want []sequence.Tone) {
	t.Helper()
	w, err := beepertest.ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := beepertest.SegmentsToTones(w.Segments())
	if len(got) != len(want) {
		t.Fatalf("WAV %s: %d tones, want %d\n%s", filepath.Base(path), len(got), len(want), diffTones(want, got))
	}
	const slack = time.Millisecond
	for i := range want {
		g, w := got[i], want[i]
		last := i == len(want)-1
		switch {
		case (w.Freq == 0) != (g.Freq == 0) || w.Freq != 0 && math.Abs(g.Freq-w.Freq)/w.Freq > 0.01,
			(g.Length - w.Length).Abs() > slack,
			!last && (g.Delay-w.Delay).Abs() > slack:
			t.Fatalf("WAV %s: tone %d of %d: got %.2f Hz for %v then %v silent; want %.2f Hz for %v then %v",
				filepath.Base(path), i+1, len(want), g.Freq, g.Length, g.Delay, w.Freq, w.Length, w.Delay)
		}
	}
}

// hostAddr4 and hostAddr6 are the addresses a test's knocks go to;
// replay treats every destination as the host's own.
const (
	hostAddr4 = "192.0.2.1"
	hostAddr6 = "2001:db8::1"
)

// readAll reads a file a command wrote, "" when missing.
func readAll(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
