package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock/decode"
)

// Ring geometry of a TPACKET_V2 socket: fixed-size frames, each handed to
// user space as soon as the kernel has written it, so a lone knock wakes
// the reader at once (a TPACKET_V3 block waits for its 1 ms timeout, or
// until it is full), and nothing in the kernel ticks while nothing
// arrives (V3's block timer fires every millisecond for ever).
//
// A frame is the tpacket2 header and the link address, 80 bytes with
// SOCK_DGRAM (TPACKET_ALIGN(TPACKET2_HDRLEN) + 16, af_packet.c), then at
// most ringSnap bytes of the packet: every header the decoder walks of
// any real knock (IPv4 with options and TCP with options take at most
// 120; IPv6 leaves 156 bytes for extension headers before TCP's 60). A
// longer packet is cut short, as the kernel filter's own limit
// (acceptBytes) cuts it where the ring has more room.
//
// The number of frames is how much the reader may fall behind: 37,440
// frames (12 MiB) ride out a 3.7 s stall at 10,000 knocks a second, and
// about 0.18 s of a 200,000 SYN/s flood.
const (
	ringSnap       = 256
	ringFrameSize  = 80 + ringSnap
	ringBlockSize  = 64 << 10 // 195 frames; larger blocks need larger contiguous allocations
	ringBlocks     = 192
	framesPerBlock = ringBlockSize / ringFrameSize
	ringFrames     = framesPerBlock * ringBlocks
)

// Coalescing under load: the kernel signals every frame, so a reader that
// waited again whenever it had caught up would be woken once per packet
// under a flood, and a wakeup costs far more than a packet. Once frames
// came at coalesceFrames a millisecond or faster within the current
// window, the reader sleeps out the rest of the window instead, and takes
// what gathered in one go; each busy window in a row is twice as long as
// the last, up to coalesceMaxWindow. The rate is well above a client
// that knocks in step with its answers (5,000 a second on loopback),
// which would otherwise slow itself down window after window. So a sustained flood costs one wakeup per 4 ms
// (about a fifth less CPU per SYN than 1 ms windows, BenchmarkLiveFlood),
// a burst of knocks waits at most a millisecond or two, and a
// knock after a quiet spell, or the few knocks of one sequence, are read
// the moment they arrive.
const (
	coalesceWindow    = time.Millisecond
	coalesceMaxWindow = 4 * time.Millisecond
	coalesceFrames    = 16
)

// packetRing is a TPACKET_V2 AF_PACKET socket. It is a SOCK_DGRAM socket,
// so the kernel strips every link-layer header: frames are raw IP on
// every kind of interface (Ethernet, loopback, tun, VLAN, wireguard), and
// one socket bound to no interface captures all of them, including
// interfaces created later — that is Any.
//
// A reader with nothing to read parks without a timeout (an idle capture
// wakes for nothing); interrupt wakes it.
type packetRing struct {
	name string
	fd   int
	mem  []byte // the mmapped ring

	// The reader waits on ep, an epoll set holding fd alone, through
	// Go's network poller (epf, epc); see wait.
	ep  int
	epf *os.File
	epc syscall.RawConn

	head int  // the frame to read next
	held bool // the frame at head was handed out: give it back first

	// Coalescing, see coalesceWindow: the current window, when it
	// began, and the frames read since.
	window       time.Duration
	windowStart  time.Time
	windowFrames int

	mu      sync.Mutex // serializes drops: reading the kernel's counters resets them
	dropped uint64
}

func openRing(iface string, c *compiledFilter, _ *slog.Logger) (ring, error) {
	prog, err := c.program(decode.LinkRaw, true)
	if err != nil {
		return nil, err
	}
	ifindex := 0
	if iface != Any {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, fmt.Errorf("capture: opening %s: %w", iface, err)
		}
		ifindex = ifc.Index
	}
	// Protocol 0: the socket receives nothing until bind, so the filter
	// is in place before the first packet.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("capture: opening %s needs CAP_NET_RAW (run as root): %w", iface, err)
		}
		return nil, fmt.Errorf("capture: opening %s: %w", iface, err)
	}
	r := &packetRing{name: iface, fd: fd}
	if err := r.setup(prog, ifindex); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// setup attaches the filter, maps the ring and binds the socket.
func (r *packetRing) setup(prog []bpf.RawInstruction, ifindex int) error {
	if err := attachFilter(r.fd, prog); err != nil {
		return fmt.Errorf("capture: attaching the filter on %s: %w", r.name, err)
	}
	// The kernel then skips this host's own packets before running the
	// filter; kernels before 4.20 lack the option, and the filter drops
	// them all the same.
	unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("capture: opening %s: TPACKET_V2: %w", r.name, err)
	}
	req := unix.TpacketReq{Block_size: ringBlockSize, Block_nr: ringBlocks, Frame_size: ringFrameSize, Frame_nr: ringFrames}
	if err := unix.SetsockoptTpacketReq(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("capture: opening %s: a %d MiB receive ring: %w", r.name, ringBlockSize*ringBlocks>>20, err)
	}
	mem, err := unix.Mmap(r.fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("capture: opening %s: mapping the receive ring: %w", r.name, err)
	}
	r.mem = mem
	const ethPAll = unix.ETH_P_ALL<<8&0xff00 | unix.ETH_P_ALL>>8 // network byte order
	if err := unix.Bind(r.fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifindex}); err != nil {
		return fmt.Errorf("capture: binding to %s: %w", r.name, err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("capture: opening %s: an epoll set: %w", r.name, err)
	}
	// Non-blocking, so that os.NewFile hands it to the network poller.
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return fmt.Errorf("capture: opening %s: an epoll set: %w", r.name, err)
	}
	r.epf = os.NewFile(uintptr(ep), "epoll:"+r.name)
	r.ep = ep
	if r.epc, err = r.epf.SyscallConn(); err != nil {
		return fmt.Errorf("capture: opening %s: %w", r.name, err)
	}
	ev := unix.EpollEvent{Fd: int32(r.fd)} // disarmed until the reader waits
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
		return fmt.Errorf("capture: opening %s: %w", r.name, err)
	}
	return nil
}

func attachFilter(fd int, prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > 0xffff {
		return fmt.Errorf("a filter of %d instructions", len(prog))
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
}

// frameOffset is where frame i starts in the ring. Frames do not
// straddle blocks.
func frameOffset(i int) int {
	return i/framesPerBlock*ringBlockSize + i%framesPerBlock*ringFrameSize
}

// frame returns the header of frame i (struct tpacket2_hdr,
// linux/if_packet.h).
func (r *packetRing) frame(i int) *unix.Tpacket2Hdr {
	return (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.mem[frameOffset(i)]))
}

// ready reports whether the kernel has handed frame i to user space.
func (r *packetRing) ready(i int) bool {
	return atomic.LoadUint32(&r.frame(i).Status)&unix.TP_STATUS_USER != 0
}

func (r *packetRing) next() ([]byte, decode.LinkType, time.Time, error) {
	if r.held {
		// Give the frame back to the kernel: the caller is done with it.
		atomic.StoreUint32(&r.frame(r.head).Status, unix.TP_STATUS_KERNEL)
		r.held = false
		if r.head++; r.head == ringFrames {
			r.head = 0
		}
	}
	for !r.ready(r.head) {
		if err := r.wait(); err != nil {
			return nil, 0, time.Time{}, err
		}
	}
	h := r.frame(r.head)
	r.held = true
	r.windowFrames++
	off := frameOffset(r.head)
	start := off + int(h.Net)
	end := min(start+int(h.Snaplen), off+ringFrameSize)
	return r.mem[start:end], decode.LinkRaw, time.Unix(int64(h.Sec), int64(h.Nsec)), nil
}

// more reports whether the frame after the one next returned last is
// ready: the caller's batch goes on.
func (r *packetRing) more() bool {
	i := r.head
	if r.held {
		if i++; i == ringFrames {
			i = 0
		}
	}
	return r.ready(i)
}

// wait returns once a frame may have arrived: at once after sleeping out
// a busy window, or when the kernel signals the socket; errNoPacket when
// interrupted; an error when the socket failed.
func (r *packetRing) wait() error {
	now := time.Now()
	if since := now.Sub(r.windowStart); since >= r.window {
		r.window, r.windowStart, r.windowFrames = coalesceWindow, now, 0
	} else if r.windowFrames >= coalesceFrames*int(r.window/coalesceWindow) {
		time.Sleep(r.window - since)
		r.window = min(2*r.window, coalesceMaxWindow)
		r.windowStart, r.windowFrames = time.Now(), 0
		return nil
	}
	// The socket is armed in an epoll set of its own, which Go's network
	// poller watches, only while the reader waits: the reader parks
	// without holding a thread, so the owner it has just woken runs at
	// once on the same one; and the socket, disarmed while the reader is
	// busy, signals nobody. Registered with the poller directly, it would
	// wake the poller's thread for every packet.
	if err := r.arm(unix.EPOLLIN); err != nil {
		return err
	}
	defer r.arm(0)
	var sockErr error
	checked := false
	err := r.epc.Read(func(uintptr) bool {
		if r.ready(r.head) {
			return true
		}
		// The poller calls this once before it waits: no frame then
		// means wait. Called again, it was woken with no frame: the
		// kernel flags the socket when its interface goes down or is
		// deleted.
		if !checked {
			checked = true
			return false
		}
		if e, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e != 0 {
			sockErr = unix.Errno(e)
			return true
		}
		return false
	})
	switch {
	case sockErr != nil:
		return fmt.Errorf("capture: %s: socket error (%v): the interface went down or away", r.name, sockErr)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errNoPacket
	case err != nil:
		return fmt.Errorf("capture: waiting for packets on %s: %w", r.name, err)
	}
	return nil
}

// arm sets the events the socket signals to the reader's epoll set.
func (r *packetRing) arm(events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(r.fd)}
	if err := unix.EpollCtl(r.ep, unix.EPOLL_CTL_MOD, r.fd, &ev); err != nil {
		return fmt.Errorf("capture: waiting for packets on %s: %w", r.name, err)
	}
	return nil
}

// interrupt makes a waiting next, and every later one, return errNoPacket.
func (r *packetRing) interrupt() {
	r.epf.SetReadDeadline(time.Unix(1, 0))
}

func (r *packetRing) setFilter(c *compiledFilter) error {
	prog, err := c.program(decode.LinkRaw, true)
	if err != nil {
		return err
	}
	if err := attachFilter(r.fd, prog); err != nil {
		return fmt.Errorf("capture: attaching the filter on %s: %w", r.name, err)
	}
	return nil
}

func (r *packetRing) drops() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := unix.GetsockoptTpacketStats(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, fmt.Errorf("capture: reading the statistics of %s: %w", r.name, err)
	}
	r.dropped += uint64(st.Drops)
	return r.dropped, nil
}

func (r *packetRing) close() error {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.epf != nil {
		r.epf.Close()
	}
	return unix.Close(r.fd)
}
