package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// firewallLab is a protected host with the shipped nftables ruleset
// (configs/nftables.conf: SSH only from the knocked sets) and two
// neighbours on veth pairs: the knocker and a stranger. A listener on the
// host's port 22 stands for sshd.
type firewallLab struct {
	host, knocker, stranger *sendtest.Netns
	hostAddr                netip.Addr // the host's address on the knocker's wire
	strangerTarget          netip.Addr // the host's address on the stranger's wire
}

func newFirewallLab(t *testing.T) *firewallLab {
	t.Helper()
	l := &firewallLab{host: sendtest.NewNetns(t), knocker: sendtest.NewNetns(t), stranger: sendtest.NewNetns(t),
		hostAddr: netip.MustParseAddr("10.79.1.2"), strangerTarget: netip.MustParseAddr("10.79.2.2")}
	for i, peer := range []*sendtest.Netns{l.knocker, l.stranger} {
		n := string(rune('1' + i))
		peer.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire"+n, "netns", l.host.Name())
		peer.IP("addr", "add", "10.79."+n+".1/24", "dev", "wire")
		peer.IP("link", "set", "wire", "up")
		l.host.IP("addr", "add", "10.79."+n+".2/24", "dev", "wire"+n)
		l.host.IP("link", "set", "wire"+n, "up")
	}
	loadShippedRuleset(t, l.host)
	listenSSH(t, l.host)
	return l
}

// loadShippedRuleset loads configs/nftables.conf into ns, then the extra
// nft commands (one a line), as an operator adds their own rules to it.
func loadShippedRuleset(t *testing.T, ns *sendtest.Netns, extra ...string) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nftables' nft command to load the ruleset: apt-get install nftables")
	}
	ruleset, err := os.ReadFile(filepath.Join("..", "..", "configs", "nftables.conf"))
	if err != nil {
		t.Fatal(err)
	}
	nftIn(t, ns, string(ruleset)+strings.Join(extra, "\n")+"\n")
}

// nftIn runs an nft script in ns, as nft -f would read it from a file.
func nftIn(t testing.TB, ns *sendtest.Netns, script string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f in %s: %v: %s\n%s", ns.Name(), err, out, script)
	}
}

// listenSSH stands for sshd in ns: a listener on port 22 that accepts
// and closes every connection, until the test ends.
func listenSSH(t *testing.T, ns *sendtest.Netns) {
	t.Helper()
	var sshd net.Listener
	if err := ns.Do(func() (err error) { sshd, err = net.Listen("tcp", ":22"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sshd.Close() })
	go func() {
		for {
			c, err := sshd.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connects reports whether a TCP connection from ns to addr:22 is
// accepted within a short wait (the ruleset drops what it refuses).
func connects(t *testing.T, ns *sendtest.Netns, addr netip.Addr) bool {
	t.Helper()
	ok := false
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, 22).String(), 300*time.Millisecond)
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// waitConnects waits until connects returns want, or fails after limit.
func waitConnects(t *testing.T, ns *sendtest.Netns, addr netip.Addr, want bool, limit time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for connects(t, ns, addr) != want {
		if time.Since(start) > limit {
			t.Fatalf("%s: a connection to port 22 still %s after %v", what, map[bool]string{true: "refused", false: "accepted"}[want], limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

const firewallDoor = `
speaker = "none"
state_dir = "{{DIR}}/state"
[[door]]
name = "ssh"
sequence = ["7000", "8000", "9000"]
open = ["nft:inet/filter/knocked4", "nft:inet/filter/knocked6"]
open_for = "5s"
`

// TestFirewallDoorOpensInTheKernel: after a knock, SSH opens for the
// knocker and for nobody else, and closes when open_for ends: the kernel
// ends it, so also when the daemon was killed right after the opening.
func TestFirewallDoorOpensInTheKernel(t *testing.T) {
	l := newFirewallLab(t)
	// --check looks the sets up: the door's exist, a misspelt one does not.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "k.toml")
	writeFile(t, conf, strings.Replace(firewallDoor, "knocked6", "knocked66", 1))
	check := exec.Command("ip", "netns", "exec", l.host.Name(), exe, "--check", "-c", conf)
	check.Env = append(os.Environ(), daemonEnv+"=1")
	out, err := check.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `# warning: door "ssh": firewall: nft:inet/filter/knocked66: no such set`) ||
		strings.Contains(string(out), "knocked4: ") {
		t.Errorf("--check with a missing set: %v\n%s", err, out)
	}

	d := startDaemon(t, l.host, firewallDoor, "-i", "any")
	if connects(t, l.knocker, l.hostAddr) {
		t.Fatal("port 22 accepts the knocker before any knock: the ruleset is not in force")
	}
	knock3 := func() {
		knockPorts(t, l.knocker, l.hostAddr, send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 8000, Proto: knock.TCP}, send.Target{Port: 9000, Proto: knock.TCP})
	}
	knock3()
	waitConnects(t, l.knocker, l.hostAddr, true, 5*time.Second, "after the knock")
	// The log says how long the knocker waited: from the kernel's time of
	// the last knock to the set updated.
	rec := d.waitLog("daemon: firewall: opened", 5*time.Second)
	if since, _ := rec["since_knock"].(float64); !(since > 0) {
		t.Errorf("the opening's log line gives since_knock = %v, want the time since the knock", rec["since_knock"])
	}
	if connects(t, l.stranger, l.strangerTarget) {
		t.Fatal("the stranger, who never knocked, got through")
	}
	closed := waitConnects(t, l.knocker, l.hostAddr, false, 15*time.Second, "after open_for")
	t.Logf("the opening ended %v after it was seen, open_for 5s", closed)

	// The daemon dies right after an opening: the kernel still closes it.
	knock3()
	waitConnects(t, l.knocker, l.hostAddr, true, 5*time.Second, "after the second knock")
	d.kill()
	// The opening must outlive the daemon: it lasts open_for (5 s).
	waitConnects(t, l.knocker, l.hostAddr, true, 2*time.Second, "right after the daemon was killed")
	waitConnects(t, l.knocker, l.hostAddr, false, 15*time.Second, "after open_for, with the daemon killed")
}

// setElemWatch tells when the kernel announces an element added to an
// nftables set: it reads the nftables multicast group (what nft monitor
// reads) itself, with a blocking recvmsg on an OS thread of its own, and
// takes the time as the recvmsg returns. The kernel sends the
// announcement when it commits the element to the set; what the watch
// adds to that is the kernel waking its thread.
type setElemWatch struct {
	fd     int
	added  chan time.Time // a NEWSETELEM's arrival, never blocking the reader
	failed chan error
	stop   atomic.Bool
	done   chan struct{}
}

// watchSetElems starts a setElemWatch on ns's nftables until the
// benchmark ends.
func watchSetElems(b *testing.B, ns *sendtest.Netns) *setElemWatch {
	w := &setElemWatch{added: make(chan time.Time, 64), failed: make(chan error, 1), done: make(chan struct{})}
	err := ns.Do(func() (err error) {
		// The socket stays in the namespace it was opened in.
		w.fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		return err
	})
	if err != nil {
		b.Fatalf("a netlink socket: %v", err)
	}
	if err := unix.Bind(w.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (unix.NFNLGRP_NFTABLES - 1)}); err != nil {
		unix.Close(w.fd)
		b.Fatalf("joining the nftables group: %v", err)
	}
	// A bounded wait, so that the reader sees stop; a roomy buffer, so
	// that the deletions between knocks never overflow it.
	if err := unix.SetsockoptTimeval(w.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000}); err != nil {
		unix.Close(w.fd)
		b.Fatalf("a receive timeout on the watch: %v", err) // without it, the reader would never see stop
	}
	unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	go w.read()
	b.Cleanup(func() {
		w.stop.Store(true)
		<-w.done
		unix.Close(w.fd)
	})
	return w
}

func (w *setElemWatch) read() {
	defer close(w.done)
	// The thread is this reader's alone: the kernel wakes it, not a
	// goroutine that must then be scheduled.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 64<<10)
	for !w.stop.Load() {
		n, _, err := unix.Recvfrom(w.fd, buf, 0)
		at := time.Now()
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			w.failed <- fmt.Errorf("reading the nftables notifications: %w", err)
			return
		}
		for msg := buf[:n]; len(msg) >= unix.SizeofNlMsghdr; {
			size := int(binary.NativeEndian.Uint32(msg))
			if binary.NativeEndian.Uint16(msg[4:]) == unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM {
				select {
				case w.added <- at:
				default:
				}
				break
			}
			if size < unix.SizeofNlMsghdr || size > len(msg) {
				break
			}
			msg = msg[(size+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1):]
		}
	}
}

// inNamespace runs the functions sent on the channel it returns in ns,
// on one OS thread, until the benchmark ends: unlike ns.Do, no thread is
// made and thrown away for each, where the daemon would pay for it.
func inNamespace(b *testing.B, ns *sendtest.Netns) chan<- func() {
	run := make(chan func())
	done, entered := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(done)
		err := ns.Do(func() error {
			entered <- nil
			for f := range run {
				f()
			}
			return nil
		})
		select {
		case entered <- err: // Do failed before it ran the loop
		default:
		}
	}()
	if err := <-entered; err != nil {
		b.Fatalf("entering the namespace: %v", err)
	}
	b.Cleanup(func() { close(run); <-done })
	return run
}

// BenchmarkKnockToFirewallOpen prints the time from a door's last knock
// leaving the knocker to the kernel announcing that the knocker's address
// is in the nftables set (p50-ms, p99-ms): a knocker in the namespace
// takes the time just before it sends the knock, a setElemWatch as the
// kernel's announcement reaches it. It also prints the daemon's own part,
// from the kernel's time of the knock to the set updated, as its log's
// since_knock gives it (daemon-p50-ms, daemon-p99-ms). The first adds to
// the second the knock's way through the kernel and the watch's wake-up
// on a shared two-core machine; the second ends when the daemon has read
// the kernel's acknowledgement, after the announcement.
func BenchmarkKnockToFirewallOpen(b *testing.B) {
	if _, err := exec.LookPath("nft"); err != nil {
		b.Skip("needs nftables' nft command to build the set: apt-get install nftables")
	}
	ns := sendtest.NewNetns(b)
	nftIn(b, ns, "table inet filter {\n set knocked4 { type ipv4_addr; flags timeout; }\n}\n")
	d := startDaemon(b, ns, `
speaker = "none"
state_dir = "{{DIR}}/state"
[[door]]
name = "ssh"
sequence = ["7000", "8000", "9000"]
open = ["nft:inet/filter/knocked4"]
open_for = "1h"
`, "-i", "lo")
	var conn *nftables.Conn
	if err := ns.Do(func() (err error) { conn, err = nftables.New(nftables.AsLasting()); return err }); err != nil {
		b.Fatal(err)
	}
	defer conn.CloseLasting()
	set, err := conn.GetSetByName(&nftables.Table{Family: nftables.TableFamilyINet, Name: "filter"}, "knocked4")
	if err != nil {
		b.Fatal(err)
	}
	// The kernel tells of each element added: a blocking read, where
	// polling the set would compete with the daemon for the two cores and
	// time the poll as much as the opening.
	w := watchSetElems(b, ns)
	knocker := inNamespace(b, ns)
	addr := netip.MustParseAddr("127.0.0.1")
	s := send.NewSender(addr, send.Options{})
	elem := []nftables.SetElement{{Key: addr.AsSlice()}}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		conn.SetDeleteElements(set, elem)
		conn.Flush() // fails harmlessly when the address is not there
		for len(w.added) > 0 {
			<-w.added // none is expected: a stale one would time the next knock short
		}
		var start time.Time
		knocked := make(chan error, 1)
		knocker <- func() {
			for _, p := range []uint16{7000, 8000, 9000} {
				start = time.Now()
				if err := s.Knock(context.Background(), send.Target{Port: p, Proto: knock.TCP}); err != nil {
					knocked <- err
					return
				}
			}
			knocked <- nil
		}
		if err := <-knocked; err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-w.added:
			lat = append(lat, at.Sub(start))
		case err := <-w.failed:
			b.Fatal(err)
		case <-time.After(5 * time.Second):
			b.Fatal("no element added to the set within 5s")
		}

	}
	b.StopTimer()
	reportPercentiles(b, lat, "")
	var inDaemon []time.Duration
	for deadline := time.Now().Add(5 * time.Second); len(inDaemon) < len(lat) && time.Now().Before(deadline); {
		inDaemon = inDaemon[:0]
		d.mu.Lock()
		for _, rec := range d.lines {
			if since, ok := rec["since_knock"].(float64); ok && rec["msg"] == "daemon: firewall: opened" {
				inDaemon = append(inDaemon, time.Duration(since))
			}
		}
		d.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if len(inDaemon) < len(lat) {
		b.Fatalf("the daemon logged %d openings with since_knock, want %d", len(inDaemon), len(lat))
	}
	reportPercentiles(b, inDaemon, "daemon-")
}

// reportPercentiles reports the p50 and p99 of lat in milliseconds, as
// PREFIXp50-ms and PREFIXp99-ms.
func reportPercentiles(b *testing.B, lat []time.Duration, prefix string) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, prefix+"p99-ms")
}
