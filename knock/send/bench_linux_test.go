package send_test

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// BenchmarkKnockRate sends b.N knocks over the loopback of a private
// namespace, each to the next of 20,000 ports, and checks with a tap that
// every one arrived, in order. It reports knocks sent per second and the
// knocks lost and reordered (which must be 0 for the rate to count).
func BenchmarkKnockRate(b *testing.B) {
	for _, bm := range []struct {
		proto knock.Proto
		delay time.Duration
	}{
		{knock.TCP, 0},
		{knock.UDP, 0},
		{knock.TCP, 100 * time.Microsecond},
		{knock.TCP, time.Millisecond},
	} {
		b.Run(fmt.Sprintf("%v/delay=%v", bm.proto, bm.delay), func(b *testing.B) {
			ns := sendtest.NewNetns(b)
			dst := netip.MustParseAddr("127.0.0.1")
			const firstPort, ports = 10000, 20000
			var tap *sendtest.Tap
			b.ResetTimer()
			err := ns.Do(func() error {
				var err error
				if tap, err = sendtest.Listen("lo"); err != nil {
					return err
				}
				s := send.NewSender(dst, send.Options{Delay: bm.delay})
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := s.Knock(context.Background(), send.Target{Port: uint16(firstPort + i%ports), Proto: bm.proto}); err != nil {
						return err
					}
				}
				b.StopTimer()
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "knocks/s")
			got := tap.WaitFor(b.N, 5*time.Second, func(p sendtest.Packet) bool {
				return !p.Outgoing && p.Dst == dst && (p.Proto == knock.UDP || p.Flags&(knock.SYN|knock.ACK) == knock.SYN)
			})
			drops, err := tap.Close()
			if err != nil || drops != 0 {
				b.Fatalf("the tap lost %d packets (%v): loss and order cannot be judged", drops, err)
			}
			reordered := 0
			for i, p := range got {
				if p.Port != uint16(firstPort+i%ports) {
					reordered++
				}
			}
			b.ReportMetric(float64(b.N-len(got)), "lost")
			b.ReportMetric(float64(reordered), "reordered")
			if len(got) != b.N || reordered != 0 {
				b.Errorf("%d of %d knocks arrived, %d out of order", len(got), b.N, reordered)
			}
		})
	}
}

// BenchmarkKnockOrderAcrossCPUs measures how often knocks overtake each
// other on their way into a receiver that spreads flows over its CPUs, as a
// multi-queue NIC does with RSS: the knocks cross a veth pair into a second
// namespace whose interface has RPS on every CPU, each knock to the next
// port (a new flow, hashed to any CPU), and a tap there records the arrival
// order. It reports the knocks that arrived out of place per thousand, at
// several paces; this is what DefaultSongDelay in knock/client rests on.
func BenchmarkKnockOrderAcrossCPUs(b *testing.B) {
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs or more: with one, nothing can overtake")
	}
	for _, delay := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			knocker, host := sendtest.NewNetns(b), sendtest.NewNetns(b)
			knocker.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire", "netns", host.Name())
			knocker.IP("addr", "add", "10.79.0.1/24", "dev", "wire")
			host.IP("addr", "add", "10.79.0.2/24", "dev", "wire")
			knocker.IP("link", "set", "wire", "up")
			host.IP("link", "set", "wire", "up")
			mask := strconv.FormatUint(uint64(1)<<min(runtime.NumCPU(), 32)-1, 16)
			rps := exec.Command("ip", "netns", "exec", host.Name(), "sh", "-c", "echo "+mask+" > /sys/class/net/wire/queues/rx-0/rps_cpus")
			if out, err := rps.CombinedOutput(); err != nil {
				b.Skipf("cannot turn on RPS in the receiving namespace: %v: %s", err, out)
			}
			var tap *sendtest.Tap
			if err := host.Do(func() (err error) { tap, err = sendtest.Listen("wire"); return err }); err != nil {
				b.Fatal(err)
			}
			dst := netip.MustParseAddr("10.79.0.2")
			const firstPort, ports = 10000, 20000
			b.ResetTimer()
			err := knocker.Do(func() error {
				s := send.NewSender(dst, send.Options{Delay: delay})
				for i := 0; i < b.N; i++ {
					if err := s.Knock(context.Background(), send.Target{Port: uint16(firstPort + i%ports), Proto: knock.TCP}); err != nil {
						return err
					}
				}
				return nil
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			got := tap.WaitFor(b.N, 5*time.Second, func(p sendtest.Packet) bool {
				return !p.Outgoing && p.Flags&(knock.SYN|knock.ACK) == knock.SYN
			})
			if drops, err := tap.Close(); err != nil || drops != 0 {
				b.Fatalf("the tap lost %d packets (%v): order cannot be judged", drops, err)
			}
			misplaced := 0
			for i, p := range got {
				if p.Port != uint16(firstPort+i%ports) {
					misplaced++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "knocks/s")
			b.ReportMetric(float64(b.N-len(got)), "lost")
			b.ReportMetric(1000*float64(misplaced)/float64(b.N), "misplaced/1k")
		})
	}
}
