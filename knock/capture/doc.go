// Package capture reads knocks off the network or from a capture file,
// both through the same path.
//
// # Flow
//
//	NIC ─► kernel: socket + BPF filter from CompileFilter ─► ring ─┐
//	pcap / pcapng file (OpenFile) ──────────────────────► file ring ─┴► Run: decode.Decoder ─► Filter check ─► handle(*knock.Event)
//
// A Filter lists the packets that may be knocks: protocol, port and TCP
// flags per Rule, and the destination addresses (this host's, from
// LocalAddrs, or the doors' targets). CompileFilter turns it into a
// classic BPF program so that the kernel drops everything else before it
// is copied to user space; the decoded event is checked against the same
// Filter again, which covers the moment before the kernel filter is
// attached and a filter change.
//
// Open opens one capture handle per interface (or one for Any), Run reads
// them and calls the handler from a single goroutine, in arrival order,
// so that the matcher needs no locking. An interface that goes down or
// disappears is logged and reopened with exponential backoff; the rest of
// the capture carries on. SetFilter swaps the filter on every handle when
// the doors change (SIGHUP); Stats counts packets, kernel drops and
// decode errors per interface.
//
// A ring is where Run's loop reads frames from: an OS capture handle, or
// a capture file (OpenFile, for --replay, tests and forensics). A file is
// one more ring behind the same loop (as gopacket's PacketDataSource is
// behind its PacketSource): the same decoding, the same Filter check,
// counted the same way; it carries each frame's capture time, has no
// kernel filter (SetFilter changes the check of the frames still to
// come), and ends: Run returns at its end. FromFile tells a file's
// capture apart. Replay is OpenFile and Run in one call. Live rings are
// opened through an opener, so that the tests replace the operating
// system with fake rings and check reopening, filter swaps and the
// merging of interfaces without privileges.
//
// The user-space check takes a few nanoseconds: a bitmap of the 65536
// ports per protocol (and per set of TCP flags), and the destination
// compared with each of a handful of addresses (BenchmarkEventFilter).
//
// # Operating systems
//
// On Linux a handle is a TPACKET_V2 AF_PACKET ring (read directly with
// golang.org/x/sys/unix, no cgo) of type SOCK_DGRAM: the kernel strips
// link headers, so every interface delivers raw IP, and Any is one socket
// bound to all interfaces, present and future. The kernel filter also
// drops the copies of packets this host sends, which lo would otherwise
// show twice. Each frame is handed over as soon as the kernel wrote it, so
// a lone knock is read within microseconds; the reader parks in Go's
// network poller with no timeout, so an idle capture costs nothing; under
// load it takes what arrived in batches, at most one wakeup a millisecond
// (capture_linux.go says why each of these).
//
// On FreeBSD a handle is a set of /dev/bpf devices read directly with
// golang.org/x/sys/unix (gopacket's bsdbpf can neither filter nor report
// the link type): one device per interface, for Any one per interface
// that is up, looked for again every few seconds. Each device gets the
// filter program for its link type (lo0 is BSD loopback, not Ethernet)
// and, except on loopback where the kernel taps each packet once, sees
// incoming packets only. The device reading code has only been compiled,
// never run, on FreeBSD; its buffer parsing is tested everywhere.
// Elsewhere Open returns an error naming the system.
package capture
