package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock/decode"
)

// pollTimeout bounds how long a reader waits for a packet before it
// checks whether Run's context has ended.
const pollTimeout = 200 * time.Millisecond

// Constants x/sys/unix lacks.
const (
	_BPF_D_IN      = 0   // enum bpf_direction, net/bpf.h: incoming packets only
	_BPF_MAXINSNS  = 512 // net/bpf.h: the longest filter the kernel takes
	bpfBufferBytes = 1 << 19
	// anyRescan is how often Any looks for interfaces that came up.
	anyRescan = 5 * time.Second
)

// bpfLayout is struct bpf_hdr of the architecture we run on.
var bpfLayout = func() bpfHdrLayout {
	var h unix.BpfHdr
	return bpfHdrLayout{
		order:     binary.NativeEndian,
		secSize:   int(unsafe.Sizeof(h.Tstamp.Sec)),
		usecOff:   int(unsafe.Offsetof(h.Tstamp.Usec)),
		usecSize:  int(unsafe.Sizeof(h.Tstamp.Usec)),
		caplenOff: int(unsafe.Offsetof(h.Caplen)),
		hdrlenOff: int(unsafe.Offsetof(h.Hdrlen)),
		align:     int(unsafe.Sizeof(uintptr(0))),
	}
}()

// bpfRing reads one /dev/bpf device per interface: one for a named
// interface, one per interface that is up for Any (looking for new ones
// every anyRescan). It polls them all and walks each read buffer record by
// record.
type bpfRing struct {
	name string
	log  *slog.Logger

	mu        sync.Mutex // guards devices and filter against setFilter and drops
	devices   []*bpfDevice
	filter    *compiledFilter
	dropsGone uint64 // drops of devices closed (Any)

	pollFds  []unix.PollFd
	current  *bpfDevice // the device whose buffer is being walked
	lastScan time.Time
}

type bpfDevice struct {
	fd     int
	iface  string
	link   decode.LinkType
	buf    []byte
	record bpfRecords
}

func openRing(iface string, c *compiledFilter, log *slog.Logger) (ring, error) {
	r := &bpfRing{name: iface, log: log, filter: c}
	if iface != Any {
		d, err := openBPF(iface, c)
		if err != nil {
			return nil, err
		}
		r.devices = []*bpfDevice{d}
		return r, nil
	}
	if err := r.rescan(); err != nil {
		return nil, err
	}
	return r, nil
}

// rescan opens a device on every interface that is up and has none yet.
func (r *bpfRing) rescan() error {
	r.lastScan = time.Now()
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("capture: listing interfaces: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var firstErr error
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || slices.ContainsFunc(r.devices, func(d *bpfDevice) bool { return d.iface == ifc.Name }) {
			continue
		}
		d, err := openBPF(ifc.Name, r.filter)
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				return err
			}
			// Interfaces knockbeep cannot decode (pflog, enc, usbus...)
			// are left out.
			r.log.Debug("capture: not capturing on this interface", "iface", ifc.Name, "err", err)
			firstErr = err
			continue
		}
		r.log.Info("capture: capturing on interface", "iface", ifc.Name, "link", d.link)
		r.devices = append(r.devices, d)
	}
	if len(r.devices) == 0 {
		if firstErr == nil {
			firstErr = errors.New("capture: no interface is up")
		}
		return firstErr
	}
	return nil
}

// openBPF opens a BPF device on iface with the filter for its link type.
func openBPF(iface string, c *compiledFilter) (*bpfDevice, error) {
	fd, err := unix.Open("/dev/bpf", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("capture: opening /dev/bpf for %s needs root: %w", iface, os.ErrPermission)
		}
		return nil, fmt.Errorf("capture: opening /dev/bpf for %s: %w", iface, err)
	}
	d := &bpfDevice{fd: fd, iface: iface}
	if err := d.setup(c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return d, nil
}

func (d *bpfDevice) setup(c *compiledFilter) error {
	// The buffer size must be set before the interface; the kernel clamps
	// it to net.bpf.maxbufsize and says what it chose.
	size := uint32(bpfBufferBytes)
	if err := ioctlPtr(d.fd, unix.BIOCSBLEN, unsafe.Pointer(&size)); err != nil {
		return fmt.Errorf("capture: %s: BIOCSBLEN: %w", d.iface, err)
	}
	var ifr [unix.IFNAMSIZ + 16]byte // struct ifreq: the name, then a union
	if len(d.iface) >= unix.IFNAMSIZ {
		return fmt.Errorf("capture: interface name %q is too long", d.iface)
	}
	copy(ifr[:], d.iface)
	if err := ioctlPtr(d.fd, unix.BIOCSETIF, unsafe.Pointer(&ifr[0])); err != nil {
		return fmt.Errorf("capture: attaching /dev/bpf to %s: %w", d.iface, err)
	}
	var dlt uint32
	if err := ioctlPtr(d.fd, unix.BIOCGDLT, unsafe.Pointer(&dlt)); err != nil {
		return fmt.Errorf("capture: %s: BIOCGDLT: %w", d.iface, err)
	}
	switch dlt {
	case unix.DLT_NULL:
		d.link = decode.LinkNull
	case unix.DLT_EN10MB:
		d.link = decode.LinkEthernet
	case unix.DLT_RAW:
		d.link = decode.LinkRaw
	case unix.DLT_LOOP:
		d.link = decode.LinkLoop
	default:
		return fmt.Errorf("capture: %s has link type DLT %d, which knockbeep cannot decode", d.iface, dlt)
	}
	if err := unix.IoctlSetPointerInt(d.fd, unix.BIOCIMMEDIATE, 1); err != nil {
		return fmt.Errorf("capture: %s: BIOCIMMEDIATE: %w", d.iface, err)
	}
	// On a loopback interface every packet is tapped once, marked as
	// received by the interface it was sent from; only elsewhere do the
	// host's own packets show up as outgoing copies to leave out.
	if ifc, err := net.InterfaceByName(d.iface); err == nil && ifc.Flags&net.FlagLoopback == 0 {
		if err := unix.IoctlSetPointerInt(d.fd, unix.BIOCSDIRECTION, _BPF_D_IN); err != nil {
			return fmt.Errorf("capture: %s: BIOCSDIRECTION: %w", d.iface, err)
		}
	}
	if err := d.setFilter(c, unix.BIOCSETF); err != nil {
		return err
	}
	if err := ioctlPtr(d.fd, unix.BIOCGBLEN, unsafe.Pointer(&size)); err != nil {
		return fmt.Errorf("capture: %s: BIOCGBLEN: %w", d.iface, err)
	}
	d.buf = make([]byte, size)
	d.record.layout = &bpfLayout
	return nil
}

// setFilter installs c's program for d's link type; BIOCSETFNR keeps the
// packets already buffered.
func (d *bpfDevice) setFilter(c *compiledFilter, req uint) error {
	raw, err := c.program(d.link, false)
	if err != nil {
		return err
	}
	if len(raw) > _BPF_MAXINSNS {
		return fmt.Errorf("capture: the filter for %s needs %d instructions, more than FreeBSD's limit of %d: use fewer ports or addresses", d.iface, len(raw), _BPF_MAXINSNS)
	}
	prog := unix.BpfProgram{Len: uint32(len(raw)), Insns: (*unix.BpfInsn)(unsafe.Pointer(&raw[0]))}
	if err := ioctlPtr(d.fd, req, unsafe.Pointer(&prog)); err != nil {
		return fmt.Errorf("capture: setting the filter on %s: %w", d.iface, err)
	}
	return nil
}

// The filter is handed to the kernel as it is: bpf.RawInstruction and
// struct bpf_insn must have the same size (these fail to compile if not).
const (
	_ = uint(unsafe.Sizeof(bpf.RawInstruction{}) - unsafe.Sizeof(unix.BpfInsn{}))
	_ = uint(unsafe.Sizeof(unix.BpfInsn{}) - unsafe.Sizeof(bpf.RawInstruction{}))
)

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

func (r *bpfRing) next() ([]byte, decode.LinkType, time.Time, error) {
	for {
		if d := r.current; d != nil {
			data, ts, ok, err := d.record.next()
			if err != nil {
				r.log.Warn("capture: skipping the rest of a BPF buffer", "iface", d.iface, "err", err)
			}
			if ok {
				return data, d.link, ts, nil
			}
			r.current = nil
		}
		if r.name == Any && time.Since(r.lastScan) >= anyRescan {
			if err := r.rescan(); err != nil && errors.Is(err, os.ErrPermission) {
				return nil, 0, time.Time{}, err
			}
		}
		if len(r.devices) == 0 {
			time.Sleep(pollTimeout)
			return nil, 0, time.Time{}, errNoPacket
		}
		r.pollFds = r.pollFds[:0]
		for _, d := range r.devices {
			r.pollFds = append(r.pollFds, unix.PollFd{Fd: int32(d.fd), Events: unix.POLLIN})
		}
		n, err := unix.Poll(r.pollFds, int(pollTimeout/time.Millisecond))
		if err == unix.EINTR || n == 0 {
			return nil, 0, time.Time{}, errNoPacket
		}
		if err != nil {
			return nil, 0, time.Time{}, fmt.Errorf("capture: polling %s: %w", r.name, err)
		}
		for i, pfd := range r.pollFds {
			if pfd.Revents == 0 {
				continue
			}
			d := r.devices[i]
			got, err := unix.Read(d.fd, d.buf)
			switch {
			case err == unix.EAGAIN || err == unix.EINTR || (err == nil && got == 0):
				continue
			case err != nil:
				// ENXIO: the interface was detached (destroyed).
				gone := fmt.Errorf("capture: reading %s: %w", d.iface, err)
				if r.name != Any {
					return nil, 0, time.Time{}, gone
				}
				r.log.Warn("capture: interface gone; will capture it again if it returns", "iface", d.iface, "err", err)
				r.remove(d)
				return nil, 0, time.Time{}, errNoPacket
			}
			d.record.buf, d.record.off = d.buf[:got], 0
			r.current = d
			break
		}
	}
}

// remove closes d, keeping its drop count.
func (r *bpfRing) remove(d *bpfDevice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if drops, err := d.drops(); err == nil {
		r.dropsGone += drops
	}
	unix.Close(d.fd)
	r.devices = slices.DeleteFunc(r.devices, func(x *bpfDevice) bool { return x == d })
}

func (r *bpfRing) setFilter(c *compiledFilter) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.filter = c
	for _, d := range r.devices {
		if err := d.setFilter(c, unix.BIOCSETFNR); err != nil {
			return err
		}
	}
	return nil
}

func (d *bpfDevice) drops() (uint64, error) {
	var st unix.BpfStat
	if err := ioctlPtr(d.fd, unix.BIOCGSTATS, unsafe.Pointer(&st)); err != nil {
		return 0, fmt.Errorf("capture: reading the statistics of %s: %w", d.iface, err)
	}
	return uint64(st.Drop), nil
}

func (r *bpfRing) drops() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := r.dropsGone
	for _, d := range r.devices {
		n, err := d.drops()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (r *bpfRing) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.devices {
		unix.Close(d.fd)
	}
	r.devices = nil
	return nil
}
