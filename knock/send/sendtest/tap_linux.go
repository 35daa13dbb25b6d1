package sendtest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
)

// A Packet is one TCP or UDP packet the Tap saw.
type Packet struct {
	knock.Event        // Port is the destination port; Flags are zero for UDP
	SrcPort     uint16 //
	Outgoing    bool   // sent by this host (on loopback every packet is seen once each way)
	PayloadLen  int
}

// A Tap captures every IPv4/IPv6 TCP and UDP packet crossing one interface,
// in both directions, with a plain AF_PACKET socket read by a goroutine.
type Tap struct {
	fd   int
	done chan struct{}
	quit chan struct{}

	mu      sync.Mutex
	packets []Packet
	arrived chan struct{} // closed and replaced whenever packets grows
	readErr error

	closeOnce  sync.Once
	closeDrops uint32
	closeErr   error
}

// Listen opens a Tap on the interface named ifname of the calling thread's
// network namespace: call it inside Netns.Do.
func Listen(ifname string) (*Tap, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("sendtest: tap on %s: %w", ifname, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("sendtest: tap on %s: %w", ifname, os.NewSyscallError("socket", err))
	}
	// A big buffer so that a burst of knocks is not lost by the tap
	// itself while its goroutine waits for a CPU.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sendtest: tap on %s: %w", ifname, os.NewSyscallError("setsockopt SO_RCVBUFFORCE", err))
	}
	// A short receive timeout lets the reader notice Close.
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sendtest: tap on %s: %w", ifname, os.NewSyscallError("setsockopt SO_RCVTIMEO", err))
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sendtest: tap on %s: %w", ifname, os.NewSyscallError("bind", err))
	}
	t := &Tap{fd: fd, done: make(chan struct{}), quit: make(chan struct{}), arrived: make(chan struct{})}
	go t.read()
	return t, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (t *Tap) read() {
	defer close(t.done)
	var (
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		payload gopacket.Payload
		decoded []gopacket.LayerType
	)
	parse4 := gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &ip4, &tcp, &udp, &payload)
	parse6 := gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &ip6, &tcp, &udp, &payload)
	parse4.IgnoreUnsupported = true
	parse6.IgnoreUnsupported = true
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-t.quit:
			return
		default:
		}
		n, from, err := unix.Recvfrom(t.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.mu.Lock()
			t.readErr = os.NewSyscallError("recvfrom", err)
			t.mu.Unlock()
			return
		}
		now := time.Now()
		if n == 0 {
			continue
		}
		parser := parse4
		switch buf[0] >> 4 {
		case 4:
		case 6:
			parser = parse6
		default:
			continue
		}
		if err := parser.DecodeLayers(buf[:n], &decoded); err != nil {
			continue
		}
		p := Packet{Event: knock.Event{Time: now}}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			p.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		complete := false
		for _, layer := range decoded {
			switch layer {
			case layers.LayerTypeIPv4:
				p.Src, _ = netip.AddrFromSlice(ip4.SrcIP)
				p.Dst, _ = netip.AddrFromSlice(ip4.DstIP)
			case layers.LayerTypeIPv6:
				p.Src, _ = netip.AddrFromSlice(ip6.SrcIP)
				p.Dst, _ = netip.AddrFromSlice(ip6.DstIP)
			case layers.LayerTypeTCP:
				p.Proto, p.SrcPort, p.Port = knock.TCP, uint16(tcp.SrcPort), uint16(tcp.DstPort)
				p.Flags = tcpFlags(&tcp)
				p.PayloadLen = len(tcp.Payload)
				complete = true
			case layers.LayerTypeUDP:
				p.Proto, p.SrcPort, p.Port = knock.UDP, uint16(udp.SrcPort), uint16(udp.DstPort)
				p.PayloadLen = len(udp.Payload)
				complete = true
			}
		}
		if !complete {
			continue
		}
		t.mu.Lock()
		t.packets = append(t.packets, p)
		close(t.arrived)
		t.arrived = make(chan struct{})
		t.mu.Unlock()
	}
}

func tcpFlags(tcp *layers.TCP) knock.TCPFlags {
	var f knock.TCPFlags
	for _, bit := range []struct {
		set  bool
		flag knock.TCPFlags
	}{{tcp.FIN, knock.FIN}, {tcp.SYN, knock.SYN}, {tcp.RST, knock.RST}, {tcp.PSH, knock.PSH}, {tcp.ACK, knock.ACK}, {tcp.URG, knock.URG}} {
		if bit.set {
			f |= bit.flag
		}
	}
	return f
}

// Packets returns the packets seen so far that keep says to keep (all of
// them when keep is nil), in the order the tap saw them.
func (t *Tap) Packets(keep func(Packet) bool) []Packet {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Packet
	for _, p := range t.packets {
		if keep == nil || keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// WaitFor waits until the tap has seen n packets that keep says to keep, or
// until timeout has passed, and returns those seen by then.
func (t *Tap) WaitFor(n int, timeout time.Duration, keep func(Packet) bool) []Packet {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		arrived := t.arrived
		t.mu.Unlock()
		if got := t.Packets(keep); len(got) >= n {
			return got
		}
		select {
		case <-arrived:
		case <-t.done:
			return t.Packets(keep)
		case <-deadline.C:
			return t.Packets(keep)
		}
	}
}

// Close stops the tap. It returns how many packets the kernel dropped
// because the tap's buffer was full (a capture loss, not a network one),
// and the error that stopped the reader early, if one did. Later calls
// return what the first returned.
func (t *Tap) Close() (kernelDrops uint32, err error) {
	t.closeOnce.Do(func() { t.closeDrops, t.closeErr = t.close() })
	return t.closeDrops, t.closeErr
}

func (t *Tap) close() (kernelDrops uint32, err error) {
	close(t.quit)
	<-t.done
	stats, statsErr := unix.GetsockoptTpacketStats(t.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	closeErr := unix.Close(t.fd)
	t.mu.Lock()
	readErr := t.readErr
	t.mu.Unlock()
	switch {
	case readErr != nil:
		return 0, fmt.Errorf("sendtest: tap: %w", readErr)
	case statsErr != nil:
		return 0, fmt.Errorf("sendtest: tap: %w", os.NewSyscallError("getsockopt PACKET_STATISTICS", statsErr))
	case closeErr != nil:
		return 0, fmt.Errorf("sendtest: tap: %w", os.NewSyscallError("close", closeErr))
	}
	return stats.Drops, nil
}
