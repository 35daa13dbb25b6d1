package daemon

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// legitKnockers are the ten sources whose valid knocks (7000, 8000, 9000)
// the scale benchmarks hide in their floods: five IPv4, five IPv6.
var legitKnockers = func() []netip.Addr {
	var a []netip.Addr
	for k := range 5 {
		a = append(a, netip.AddrFrom4([4]byte{172, 16, 0, byte(k + 1)}))
	}
	for k := range 5 {
		a = append(a, netip.MustParseAddr(fmt.Sprintf("fd01::%d", k+1)))
	}
	return a
}()

// A floodPlan is what a mixed flood sends: n flood SYNs to port 7000 and,
// spread among them, each legit knocker's three knocks in order.
type floodPlan struct {
	n int
	// distinct gives every flood SYN a source of its own: 10.0.0.0 + i
	// for even i, fd00::i for odd i; otherwise all come from 10.9.9.9.
	distinct bool
}

// send runs the plan inside ns through raw sockets and returns how long it
// took. The legit knocks go at evenly spaced points, their three steps
// 1,000 flood packets apart.
func (p floodPlan) send(tb testing.TB, ns *sendtest.Netns) time.Duration {
	tb.Helper()
	var elapsed time.Duration
	err := ns.Do(func() error {
		fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		defer unix.Close(fd4)
		fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw IPv6 socket: %w", err)
		}
		defer unix.Close(fd6)
		// The legit knocks, by the flood index they go before, ascending.
		type legitKnock struct {
			at   int
			src  netip.Addr
			port uint16
		}
		var legit []legitKnock
		for k, src := range legitKnockers {
			at := (k + 1) * p.n / (len(legitKnockers) + 2)
			for s, port := range []uint16{7000, 8000, 9000} {
				legit = append(legit, legitKnock{at + s*1000, src, port})
			}
		}
		slices.SortFunc(legit, func(a, b legitKnock) int { return a.at - b.at })
		pkt4, pkt6 := make([]byte, 40), make([]byte, 60)
		start := time.Now()
		for i := 0; i < p.n; i++ {
			for len(legit) > 0 && legit[0].at == i {
				if err := sendSYN(fd4, fd6, pkt4, pkt6, legit[0].src, uint16(40000+i%20000), legit[0].port); err != nil {
					return err
				}
				legit = legit[1:]
			}
			src := netip.AddrFrom4([4]byte{10, 9, 9, 9})
			if p.distinct {
				if i%2 == 0 {
					src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				} else {
					var a [16]byte
					a[0] = 0xfd
					binary.BigEndian.PutUint64(a[8:], uint64(i))
					src = netip.AddrFrom16(a)
				}
			}
			if err := sendSYN(fd4, fd6, pkt4, pkt6, src, uint16(1024+i%50000), 7000); err != nil {
				return err
			}
		}
		elapsed = time.Since(start)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// sendSYN sends one SYN from src to the loopback address of its family,
// retrying while the socket's queue is full (the generator's top rate).
func sendSYN(fd4, fd6 int, pkt4, pkt6 []byte, src netip.Addr, sport, dport uint16) error {
	fd, pkt := fd4, pkt4
	var to unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if src.Is4() {
		synPacket(pkt4, src.As4(), [4]byte{127, 0, 0, 1}, sport, dport)
	} else {
		fd, pkt = fd6, pkt6
		to = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
		syn6Packet(pkt6, src.As16(), netip.IPv6Loopback().As16(), sport, dport)
	}
	for {
		err := unix.Sendto(fd, pkt, 0, to)
		if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sendto %v: %w", src, err)
		}
		return nil
	}
}

// syn6Packet writes an IPv6 TCP SYN into pkt (60 bytes); a raw IPv6
// socket of IPPROTO_RAW sends it as it is, so the TCP checksum over the
// IPv6 pseudo-header is computed here.
func syn6Packet(pkt []byte, src, dst [16]byte, sport, dport uint16) {
	clear(pkt)
	pkt[0] = 0x60
	binary.BigEndian.PutUint16(pkt[4:], 20)
	pkt[6] = unix.IPPROTO_TCP
	pkt[7] = 64
	copy(pkt[8:24], src[:])
	copy(pkt[24:40], dst[:])
	tcp := pkt[40:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	tcp[12] = 5 << 4
	tcp[13] = byte(knock.SYN)
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	sum := uint32(0)
	for i := 8; i < 40; i += 2 { // pseudo header: addresses, length, next header
		sum += uint32(binary.BigEndian.Uint16(pkt[i:]))
	}
	sum += 20 + unix.IPPROTO_TCP
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(tcp[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(tcp[16:], ^uint16(sum))
}

// rssBytes is process pid's resident set size.
func rssBytes(tb testing.TB, pid int) int64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	tb.Fatalf("no VmRSS for process %d", pid)
	return 0
}

// peakRSS samples process pid's RSS every 20 ms until stop is called, and
// then returns the largest.
func peakRSS(tb testing.TB, pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if r := rssBytes(tb, pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// opened counts the legit knockers the daemon's log says it opened for.
func (p *daemonProc) opened(srcs []netip.Addr) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for _, rec := range p.lines {
		if rec["msg"] == "daemon: door opened" {
			if s, ok := rec["src"].(string); ok {
				seen[s] = true
			}
		}
	}
	n := 0
	for _, a := range srcs {
		if seen[a.String()] {
			n++
		}
	}
	return n
}

// BenchmarkMillionSources floods the daemon with SYNs from 1,000,000
// distinct sources, half IPv4 and half IPv6, with ten valid knocks hidden
// among them, and reports its RSS idle before, at its peak during the
// flood, and a minute after it; how many of the ten valid knocks opened
// the door; the kernel's drops; and the CPU time per million SYNs.
func BenchmarkMillionSources(b *testing.B) {
	ns := sendtest.NewNetns(b)
	d := startDaemon(b, ns, floodConfig, "-i", "lo")
	pid := d.cmd.Process.Pid
	settledCPU(b, pid)
	idle := rssBytes(b, pid)
	stop := peakRSS(b, pid)
	plan := floodPlan{n: 1_000_000, distinct: true}
	var genTime, cpu time.Duration
	for b.Loop() {
		c0 := cpuTime(b, pid)
		genTime += plan.send(b, ns)
		cpu += settledCPU(b, pid) - c0
	}
	peak := stop()
	time.Sleep(time.Minute)
	after := rssBytes(b, pid)
	detected := d.opened(legitKnockers)
	stats := d.stop()
	b.ReportMetric(mib(idle), "idle-rss-MiB")
	b.ReportMetric(mib(peak), "peak-rss-MiB")
	b.ReportMetric(mib(after), "rss-1min-after-MiB")
	b.ReportMetric(float64(detected), "detected-of-10")
	b.ReportMetric(stats["kernel_drops"].(float64), "kernel-drops")
	b.ReportMetric(float64(plan.n*b.N)/genTime.Seconds(), "syn/s")
	b.ReportMetric(cpu.Seconds()/float64(plan.n*b.N)*1e6, "cpu-s/Msyn")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdle reports what the daemon costs with nothing arriving: CPU
// seconds per hour, from 20 s of idling after it settled.
func BenchmarkIdle(b *testing.B) { benchIdle(b, floodConfig, nil) }

// BenchmarkIdleMusic is BenchmarkIdle for the default daemon: the music
// doors and no other, with a song played before the idling, so that the
// pools' fsync timer has been armed once.
func BenchmarkIdleMusic(b *testing.B) {
	benchIdle(b, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
`, func(ns *sendtest.Netns) {
		knockPorts(b, ns, netip.MustParseAddr("127.0.0.1"), send.Target{Port: 1000, Proto: knock.TCP}, send.Target{Port: 1002, Proto: knock.TCP})
	})
}

// benchIdle measures the daemon of config idling, after warm (if not
// nil) gave it something to do.
func benchIdle(b *testing.B, config string, warm func(*sendtest.Netns)) {
	ns := sendtest.NewNetns(b)
	d := startDaemon(b, ns, config, "-i", "lo")
	if warm != nil {
		warm(ns)
		d.waitLog("music: song queued", 10*time.Second)
	}
	pid := d.cmd.Process.Pid
	settledCPU(b, pid)
	const span = 20 * time.Second
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime(b, pid)
		time.Sleep(span)
		cpu += cpuTime(b, pid) - c0
	}
	d.stop()
	b.ReportMetric(cpu.Seconds()/float64(b.N)*float64(time.Hour/span), "cpu-s/hour")
	b.ReportMetric(mib(rssBytes(b, os.Getpid())), "bench-rss-MiB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkFloodDetection sends the same one-source flood with the same
// ten valid knocks (IPv4 ones: knockd's door sees IPv6 too, but its log
// names sources the same way) to knockbeepd and to Debian's knockd, and
// reports how many of the ten each opened for, and each one's CPU time per
// million SYNs.
func BenchmarkFloodDetection(b *testing.B) {
	plan := floodPlan{n: 300_000}
	b.Run("knockbeepd", func(b *testing.B) {
		ns := sendtest.NewNetns(b)
		d := startDaemon(b, ns, floodConfig, "-i", "lo")
		pid := d.cmd.Process.Pid
		var cpu time.Duration
		for b.Loop() {
			c0 := cpuTime(b, pid)
			plan.send(b, ns)
			cpu += settledCPU(b, pid) - c0
		}
		detected := d.opened(legitKnockers)
		d.stop()
		b.ReportMetric(float64(detected), "detected-of-10")
		b.ReportMetric(cpu.Seconds()/float64(plan.n*b.N)*1e6, "cpu-s/Msyn")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("knockd", func(b *testing.B) {
		ns := sendtest.NewNetns(b)
		cmd, dir := startKnockd(b, ns)
		var cpu time.Duration
		for b.Loop() {
			c0 := cpuTime(b, cmd.Process.Pid)
			plan.send(b, ns)
			cpu += settledCPU(b, cmd.Process.Pid) - c0
		}
		log, _ := os.ReadFile(filepath.Join(dir, "knockd.log"))
		detected := 0
		for _, a := range legitKnockers {
			if strings.Contains(string(log), a.String()+": ssh: OPEN SESAME") {
				detected++
			}
		}
		b.ReportMetric(float64(detected), "detected-of-10")
		b.ReportMetric(cpu.Seconds()/float64(plan.n*b.N)*1e6, "cpu-s/Msyn")
		b.ReportMetric(0, "ns/op")
	})
}
