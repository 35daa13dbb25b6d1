package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
)

// floodEnv carries "COUNT PORT" to the generator process.
const floodEnv = "KNOCKBEEP_CAPTURE_FLOOD"

// floodMain sends COUNT TCP SYNs from 127.0.0.1 (source ports cycling) to
// 127.0.0.1:PORT through a raw socket, as fast as it can, then exits.
func floodMain(spec string) int {
	var count, port int
	if _, err := fmt.Sscanf(spec, "%d %d", &count, &port); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		return 2
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood: raw socket:", err)
		return 1
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	pkt := make([]byte, 40)
	for i := range count {
		synPacket(pkt, uint16(10000+i%50000), uint16(port), uint32(i))
		for {
			err := unix.Sendto(fd, pkt, 0, to)
			if err == nil {
				break
			}
			if err != unix.ENOBUFS && err != unix.EAGAIN && err != unix.EINTR {
				fmt.Fprintln(os.Stderr, "flood: sendto:", err)
				return 1
			}
		}
	}
	return 0
}

// synPacket writes an IPv4 TCP SYN from 127.0.0.1:srcPort to
// 127.0.0.1:dstPort into pkt (40 bytes); the kernel fills in the IP
// checksum and length.
func synPacket(pkt []byte, srcPort, dstPort uint16, seq uint32) {
	clear(pkt)
	pkt[0] = 0x45
	pkt[8] = 64
	pkt[9] = 6
	copy(pkt[12:16], []byte{127, 0, 0, 1})
	copy(pkt[16:20], []byte{127, 0, 0, 1})
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:], srcPort)
	binary.BigEndian.PutUint16(tcp[2:], dstPort)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12] = 5 << 4
	tcp[13] = byte(knock.SYN)
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	// Checksum over the pseudo-header and the header.
	sum := uint32(0x7f00) + 0x0001 + 0x7f00 + 0x0001 + 6 + 20
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(tcp[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(tcp[16:], ^uint16(sum))
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLiveLoopbackFlood floods lo with b.N SYNs to a door port from a
// generator process and reports how many the capture delivered per
// second, how many the kernel dropped, and the CPU time the capturing
// process spent per million SYNs. Run it with a fixed count:
//
//	go test -run '^$' -bench LiveLoopbackFlood -benchtime 200000x ./knock/capture
func BenchmarkLiveLoopbackFlood(b *testing.B) {
	needNetns(b)
	port := testPorts(1)[0]
	c, err := Open([]string{"lo"}, Filter{
		Rules: []Rule{{knock.TCP, port, synOnly}},
		Dst:   []netip.Addr{netip.MustParseAddr("127.0.0.1")},
	}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var events atomic.Int64
	var first, last atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ev *knock.Event) {
			now := time.Now().UnixNano()
			if events.Add(1) == 1 {
				first.Store(now)
			}
			last.Store(now)
		})
	}()
	defer func() {
		cancel()
		<-done
	}()

	gen := exec.Command(os.Args[0])
	gen.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d", floodEnv, b.N, port))
	gen.Stderr = os.Stderr
	cpu0 := cpuTime()
	b.ResetTimer()
	if err := gen.Run(); err != nil {
		b.Fatalf("SYN generator: %v", err)
	}
	// Wait until every SYN arrived, or nothing more arrives for a second.
	for seen := int64(-1); ; {
		time.Sleep(time.Second / 4)
		n := events.Load()
		if n == int64(b.N) || n == seen {
			break
		}
		seen = n
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := c.Stats().Total()
	n := events.Load()
	span := time.Duration(last.Load() - first.Load())
	if n > 1 && span > 0 {
		b.ReportMetric(float64(n-1)/span.Seconds(), "syn/s")
	}
	b.ReportMetric(float64(st.Drops), "drops")
	b.ReportMetric(float64(int64(b.N)-n), "lost")
	if n > 0 {
		b.ReportMetric(cpu.Seconds()/float64(n)*1e6, "cpu-s/Msyn")
	}
}

// BenchmarkLiveKnockLatency knocks on lo one SYN at a time, as the knock
// client does, and reports the time from sending it to the handler
// receiving its event. The knocks are a millisecond apart: sent each as
// soon as the last arrived, they come 13,000 a second, a flood, which the
// ring reads in batches (coalesceWindow) at the price of a millisecond or
// two.
func BenchmarkLiveKnockLatency(b *testing.B) {
	needNetns(b)
	ports := testPorts(100)
	var rules []Rule
	for _, p := range ports {
		rules = append(rules, Rule{knock.TCP, p, synOnly})
	}
	c, err := Open([]string{"lo"}, Filter{Rules: rules}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	arrived := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(*knock.Event) { arrived <- time.Now() })
	}()
	defer func() {
		cancel()
		<-done
	}()
	sender := send.NewSender(netip.MustParseAddr("127.0.0.1"), send.Options{})
	latencies := make([]time.Duration, 0, b.N)
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Millisecond)))
		sent := time.Now()
		if err := sender.Knock(ctx, send.Target{Port: ports[i%len(ports)], Proto: knock.TCP}); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-arrived:
			latencies = append(latencies, at.Sub(sent))
		case <-time.After(time.Second):
			b.Fatalf("knock %d: no event within a second", i)
		}
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// TestLiveStalledReaderLosesNothing is the ring's stall guarantee: a
// reader that does not read for a second while knocks arrive at 10,000 a
// second (ten a millisecond, a song's top pace) finds them all when it
// reads again, and the kernel dropped none. The knocks are paced, as a
// song's are: a ring that hands over one block per millisecond however
// little it holds runs out of blocks, not of bytes.
func TestLiveStalledReaderLosesNothing(t *testing.T) {
	needNetns(t)
	const knocks, perMilli = 10_000, 10
	port := testPorts(1)[0]
	c, err := Open([]string{"lo"}, Filter{Rules: []Rule{{knock.TCP, port, synOnly}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Nothing reads c while the knocks arrive: Run starts afterwards.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		t.Fatalf("raw socket: %v", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	pkt := make([]byte, 40)
	start := time.Now()
	for i := range knocks {
		if i%perMilli == 0 {
			// Absolute deadlines: a late start is not made up with a burst
			// that would fill fewer blocks.
			time.Sleep(time.Until(start.Add(time.Duration(i/perMilli) * time.Millisecond)))
		}
		synPacket(pkt, uint16(10000+i%50000), port, uint32(i))
		if err := unix.Sendto(fd, pkt, 0, to); err != nil {
			t.Fatalf("sendto, knock %d: %v", i, err)
		}
	}

	var got atomic.Int64
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ev *knock.Event) {
			if ev.Port == port && got.Add(1) == knocks {
				close(all)
			}
		})
	}()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
	}
	st := c.Stats().Total()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := got.Load(); n != knocks || st.Drops != 0 {
		t.Errorf("after a 1 s stall at %d knocks/ms: %d of %d knocks read, kernel drops %d; want all, no drops", perMilli, n, knocks, st.Drops)
	}
}
