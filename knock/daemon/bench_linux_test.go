package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// floodSize is the number of SYNs of one flood: bounded, so that a
// benchmark stops by itself.
const floodSize = 300_000

// floodConfig has the door the floods hit: its first port is 7000.
const floodConfig = `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "ssh"
sequence = ["7000", "8000", "9000"]
tcpflags = "syn"
timeout = "5s"
start_command = ["/bin/true"]
`

// knockdFloodConfig is the same door for Debian's knockd.
const knockdFloodConfig = `[options]
	LogFile = {{DIR}}/knockd.log
[ssh]
	Sequence = 7000,8000,9000
	Seq_Timeout = 5
	TCPFlags = syn
	Command = /bin/true
`

// BenchmarkLiveFlood floods the daemon, on the loopback of a namespace of
// its own, with floodSize SYNs to a door's first port as fast as a raw
// socket sends them, from one source or from random ones, and reports
// the generator's rate, how many SYNs the daemon handled, the kernel's
// drops, and the daemon's CPU time per million SYNs.
func BenchmarkLiveFlood(b *testing.B) {
	for _, tc := range []struct {
		name      string
		randomSrc bool
	}{{"one-source", false}, {"random-sources", true}} {
		b.Run(tc.name, func(b *testing.B) {
			ns := sendtest.NewNetns(b)
			d := startDaemon(b, ns, floodConfig, "-i", "lo")
			var sent int
			var genTime, cpu time.Duration
			for b.Loop() {
				c0 := cpuTime(b, d.cmd.Process.Pid)
				elapsed := flood(b, ns, floodSize, tc.randomSrc)
				c1 := settledCPU(b, d.cmd.Process.Pid)
				sent += floodSize
				genTime += elapsed
				cpu += c1 - c0
			}
			stats := d.stop()
			handled, drops := stats["packets"].(float64), stats["kernel_drops"].(float64)
			b.ReportMetric(float64(sent)/genTime.Seconds(), "syn/s")
			b.ReportMetric(handled/float64(sent), "handled/sent")
			b.ReportMetric(drops, "kernel-drops")
			b.ReportMetric(cpu.Seconds()/float64(sent)*1e6, "cpu-s/Msyn")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkKnockdFlood is BenchmarkLiveFlood's one-source load on Debian's
// knockd, for the side-by-side CPU figure. knockd cannot say how many
// packets it handled.
func BenchmarkKnockdFlood(b *testing.B) {
	ns := sendtest.NewNetns(b)
	cmd, _ := startKnockd(b, ns)
	var sent int
	var genTime, cpu time.Duration
	for b.Loop() {
		c0 := cpuTime(b, cmd.Process.Pid)
		genTime += flood(b, ns, floodSize, false)
		cpu += settledCPU(b, cmd.Process.Pid) - c0
		sent += floodSize
	}
	b.ReportMetric(float64(sent)/genTime.Seconds(), "syn/s")
	b.ReportMetric(cpu.Seconds()/float64(sent)*1e6, "cpu-s/Msyn")
	b.ReportMetric(0, "ns/op")
}

// startKnockd runs Debian's knockd on the flood's door in ns, on lo, and
// returns it and its directory (its log is knockd.log there); it skips the
// benchmark when knockd is not installed.
func startKnockd(b *testing.B, ns *sendtest.Netns) (*exec.Cmd, string) {
	b.Helper()
	knockd, err := exec.LookPath("knockd")
	if err != nil {
		b.Skip("needs Debian's knockd for the comparison: apt-get install knockd")
	}
	dir := b.TempDir()
	conf := filepath.Join(dir, "knockd.conf")
	writeFile(b, conf, strings.ReplaceAll(knockdFloodConfig, "{{DIR}}", dir))
	cmd := exec.Command("ip", "netns", "exec", ns.Name(), knockd, "-i", "lo", "-c", conf)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(time.Second) // knockd says nothing when it is ready
	return cmd, dir
}

// BenchmarkKnockLatency measures, on a namespace's loopback, the time from
// sending a knock to its effect: a music step appended to the pool file,
// and a one-knock door's command having run (its output file appears).
func BenchmarkKnockLatency(b *testing.B) {
	ns := sendtest.NewNetns(b)
	d := startDaemon(b, ns, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
[[door]]
name = "touch"
sequence = ["7500"]
start_command = ["/usr/bin/touch", "{{DIR}}/touched"]
`, "-i", "lo")
	pool := filepath.Join(d.dir, "state", "pools", "127.0.0.1.pool")
	touched := filepath.Join(d.dir, "touched")
	lo := netipLoopback4
	// A first knock makes the pool file, so that it can be watched.
	if err := ns.Do(func() error {
		return send.NewSender(lo, send.Options{}).Knock(b.Context(), send.Target{Port: 1000, Proto: knock.TCP})
	}); err != nil {
		b.Fatal(err)
	}
	if err := waitFor(func() bool { return fileExists(pool) }); err != nil {
		b.Fatalf("the first knock's pool: %v", err)
	}
	// The kernel tells of each write to the pool and each file made in
	// the daemon's directory (inotify): a blocking read, where polling
	// the files would compete with the daemon for the two cores and time
	// the poll as much as the knock.
	w := newFileWatch(b)
	w.add(b, pool, unix.IN_MODIFY)
	w.add(b, d.dir, unix.IN_CREATE)
	var poolLat, cmdLat []time.Duration
	for b.Loop() {
		err := ns.Do(func() error {
			s := send.NewSender(lo, send.Options{})
			size := fileSize(pool)
			t0 := time.Now()
			if err := s.Knock(b.Context(), send.Target{Port: 1000, Proto: knock.TCP}); err != nil {
				return err
			}
			if err := w.waitFor(func() bool { return fileSize(pool) > size }); err != nil {
				return fmt.Errorf("pool append: %w", err)
			}
			poolLat = append(poolLat, time.Since(t0))

			os.Remove(touched)
			t0 = time.Now()
			if err := s.Knock(b.Context(), send.Target{Port: 7500, Proto: knock.TCP}); err != nil {
				return err
			}
			if err := w.waitFor(func() bool { return fileExists(touched) }); err != nil {
				return fmt.Errorf("command: %w", err)
			}
			cmdLat = append(cmdLat, time.Since(t0))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	d.stop()
	b.ReportMetric(ms(percentile(poolLat, 50)), "pool-p50-ms")
	b.ReportMetric(ms(percentile(poolLat, 99)), "pool-p99-ms")
	b.ReportMetric(ms(percentile(cmdLat, 50)), "cmd-p50-ms")
	b.ReportMetric(ms(percentile(cmdLat, 99)), "cmd-p99-ms")
	b.ReportMetric(0, "ns/op")
}

var netipLoopback4 = netip.MustParseAddr("127.0.0.1")

// flood sends n TCP SYNs to 127.0.0.1:7000 from inside ns through a raw
// socket, from 10.9.9.9 or from random 10.0.0.0/8 sources, and returns how
// long sending took.
func flood(tb testing.TB, ns *sendtest.Netns, n int, randomSrc bool) time.Duration {
	tb.Helper()
	var elapsed time.Duration
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		defer unix.Close(fd)
		dst := [4]byte{127, 0, 0, 1}
		to := &unix.SockaddrInet4{Addr: dst}
		pkt := make([]byte, 40)
		rng := rand.New(rand.NewPCG(1, 2))
		src := [4]byte{10, 9, 9, 9}
		start := time.Now()
		for i := 0; i < n; {
			if randomSrc {
				binary.BigEndian.PutUint32(src[:], 10<<24|rng.Uint32()&0xffffff)
			}
			synPacket(pkt, src, dst, uint16(1024+i%50000), 7000)
			err := unix.Sendto(fd, pkt, 0, to)
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				continue // the queue is full: the generator's top rate
			}
			if err != nil {
				return fmt.Errorf("sendto: %w", err)
			}
			i++
		}
		elapsed = time.Since(start)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// synPacket writes an IPv4 TCP SYN into pkt (40 bytes). The kernel fills
// in the IP checksum and length of a raw IPPROTO_RAW packet; the TCP
// checksum is computed here.
func synPacket(pkt []byte, src, dst [4]byte, sport, dport uint16) {
	clear(pkt)
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:], 40)
	pkt[8] = 64
	pkt[9] = unix.IPPROTO_TCP
	copy(pkt[12:16], src[:])
	copy(pkt[16:20], dst[:])
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	tcp[12] = 5 << 4
	tcp[13] = byte(knock.SYN)
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	sum := uint32(0)
	for i := 0; i < 8; i += 2 { // pseudo header: addresses, protocol, length
		sum += uint32(binary.BigEndian.Uint16(pkt[12+i:]))
	}
	sum += unix.IPPROTO_TCP + 20
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(tcp[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(tcp[16:], ^uint16(sum))
}

// cpuTime is the CPU time all threads of process pid have used, from the
// scheduler's nanosecond accounting.
func cpuTime(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		tb.Fatal(err)
	}
	var total time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(data))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// settledCPU waits until process pid has stopped using CPU (it has worked
// through what was queued) and returns its CPU time.
func settledCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	last := cpuTime(tb, pid)
	for {
		time.Sleep(300 * time.Millisecond)
		now := cpuTime(tb, pid)
		if now-last < 10*time.Millisecond {
			return now
		}
		last = now
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// fileWatch is an inotify instance.
type fileWatch struct {
	fd  int
	buf [64 << 10]byte
}

func newFileWatch(tb testing.TB) *fileWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		tb.Fatalf("inotify: %v", err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return &fileWatch{fd: fd}
}

// add watches path for the events in mask.
func (w *fileWatch) add(tb testing.TB, path string, mask uint32) {
	if _, err := unix.InotifyAddWatch(w.fd, path, mask); err != nil {
		tb.Fatalf("inotify watch %s: %v", path, err)
	}
}

// waitFor blocks on the watches' events until done reports true, for at
// most 5 s. done is checked first and after each batch of events, so an
// event for another file, or one left from an earlier change, only
// means checking again.
func (w *fileWatch) waitFor(done func() bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("no effect within 5s")
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll inotify: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			if _, err := unix.Read(w.fd, w.buf[:]); err != nil {
				return fmt.Errorf("read inotify: %w", err)
			}
		}
	}
	return nil
}

// waitFor polls cond every 20µs for up to 5s.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("no effect within 5s")
		}
		time.Sleep(20 * time.Microsecond)
	}
	return nil
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
