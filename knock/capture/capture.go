package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// Any is the interface name that captures on every interface that is up,
// including interfaces that appear later.
const Any = "any"

// Options tune a live capture. The zero Options is ready to use.
type Options struct {
	// Logger receives interface failures and recoveries; nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock times the retries after an interface failure; nil means
	// clock.System().
	Clock clock.Clock
}

// Counters count what a capture did with the frames it saw.
type Counters struct {
	// Packets is the number of frames read: on a live capture, those the
	// kernel filter passed.
	Packets uint64
	// Drops is the number of frames the kernel dropped because the
	// capture buffer was full.
	Drops uint64
	// DecodeErrors is the number of frames that could not be decoded.
	DecodeErrors uint64
	// Events is the number of knocks handed to the handler.
	Events uint64
}

func (c *Counters) add(o Counters) {
	c.Packets += o.Packets
	c.Drops += o.Drops
	c.DecodeErrors += o.DecodeErrors
	c.Events += o.Events
}

// InterfaceStats are the counters of one captured interface (or of Any).
type InterfaceStats struct {
	Name string
	// Up is false while the interface is down or gone and the capture is
	// retrying.
	Up bool
	// Reopens counts how often the interface was reopened after a failure.
	Reopens uint64
	Counters
}

// Stats are a capture's counters, one entry per interface given to Open.
type Stats struct {
	Interfaces []InterfaceStats
}

// Total sums the counters of every interface.
func (s Stats) Total() Counters {
	var t Counters
	for _, i := range s.Interfaces {
		t.add(i.Counters)
	}
	return t
}

// Retry delays after an interface failure: doubling from the first to
// the last, so that an interface coming back is captured again within
// retryMax.
const (
	retryFirst = 250 * time.Millisecond
	retryMax   = 10 * time.Second
)

// A ring is one capture handle: an OS capture handle on one interface
// (or on all of them), or a capture file. Only its reader goroutine calls
// next and close; setFilter and drops may be called from other goroutines
// while next blocks.
type ring interface {
	// next returns the next frame, valid until the following call, its
	// link type and the time it was captured; errNoPacket when none came
	// within a poll timeout of its own (the FreeBSD ring's pollTimeout), or,
	// on an interruptible ring, when interrupted;
	// io.EOF when a file has ended, and an *endError
	// when a file cannot be read further: neither is reopened.
	next() ([]byte, decode.LinkType, time.Time, error)
	setFilter(c *compiledFilter) error
	// drops is the number of frames the kernel dropped since the ring
	// was opened.
	drops() (uint64, error)
	close() error
}

// An interruptible ring waits for frames without a poll timeout, so that
// an idle capture costs nothing: interrupt makes a waiting next, and every
// later one, return errNoPacket at once. It may be called from any
// goroutine, with the source's mu held.
type interruptible interface {
	interrupt()
}

// A batcher ring can tell, without waiting, whether another frame is
// ready after the one next returned last, so that Run knows where a batch
// ends (RunBatched). Only its reader calls more.
type batcher interface {
	more() bool
}

// An opener opens rings on network interfaces: the operating system's
// capture (liveOpener), or a test's fake rings. Capture's logic — reopening
// with backoff, filter swaps, merging interfaces — is the same for both.
type opener interface {
	// lookup reports whether the named interface exists and is up; Any
	// always does and is.
	lookup(iface string) (exists, up bool)
	// names lists the interfaces there are, for error messages.
	names() string
	open(iface string, c *compiledFilter, log *slog.Logger) (ring, error)
}

// liveOpener opens the operating system's capture handles.
type liveOpener struct{}

func (liveOpener) lookup(iface string) (exists, up bool) {
	if iface == Any {
		return true, true
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return false, false
	}
	return true, ifc.Flags&net.FlagUp != 0
}

func (liveOpener) names() string { return interfaceNames() }

func (liveOpener) open(iface string, c *compiledFilter, log *slog.Logger) (ring, error) {
	return openRing(iface, c, log)
}

// An endError ends a source that cannot be reopened: a capture file that
// is cut short or otherwise unreadable.
type endError struct{ err error }

func (e *endError) Error() string { return e.err.Error() }
func (e *endError) Unwrap() error { return e.err }

var errNoPacket = errors.New("capture: no packet within the poll timeout")

// A Capture reads knocks from network interfaces through a kernel filter
// (Open), or from a capture file (OpenFile). Open it, then call Run once;
// SetFilter and Stats may be called at any time from any goroutine.
type Capture struct {
	log    *slog.Logger
	clock  clock.Clock
	op     opener // nil for a file
	filter atomic.Pointer[compiledFilter]
	// interrupt, when set, unblocks a read of a file when Run's context
	// ends (it closes a pipe).
	interrupt func()

	mu       sync.Mutex // serializes SetFilter, Run's start and Close
	sources  []*source
	running  bool
	closed   bool
	stop     context.CancelFunc // cancels a running Run
	finished chan struct{}      // closed when a running Run returns
}

// source is one interface given to Open, or the file given to OpenFile,
// with the ring currently open on it. Its reader goroutine owns the ring: it alone reads, closes and
// replaces it; mu keeps SetFilter and Stats off a ring being replaced.
type source struct {
	c    *Capture
	name string
	dec  *decode.Decoder

	mu        sync.Mutex
	r         ring   // nil while the interface is unavailable
	dropsDone uint64 // drops of rings already closed

	stale                         atomic.Bool // the ring refused a new filter: reopen it
	up                            atomic.Bool
	packets, decodeErrors, events atomic.Uint64
	reopens                       atomic.Uint64
	lastDecodeLog                 atomic.Int64
}

// Open starts capturing on the named interfaces, or on every interface
// with Any, passing the kernel only what f accepts. It fails when an
// interface does not exist, when capture needs privileges the process
// lacks, or on a system without live capture. Packets queue in the kernel
// until Run reads them.
func Open(ifaces []string, f Filter, opts Options) (*Capture, error) {
	return open(ifaces, f, opts, liveOpener{})
}

// open is Open with op opening the rings.
func open(ifaces []string, f Filter, opts Options, op opener) (*Capture, error) {
	cf, err := compile(f)
	if err != nil {
		return nil, err
	}
	if len(ifaces) == 0 {
		return nil, errors.New(`capture: no interface to capture on: name one or more, or "any"`)
	}
	for i, name := range ifaces {
		if name == Any && len(ifaces) > 1 {
			return nil, errors.New(`capture: "any" already covers every interface: give it alone`)
		}
		if slices.Contains(ifaces[:i], name) {
			return nil, fmt.Errorf("capture: interface %q given twice", name)
		}
		if exists, _ := op.lookup(name); !exists {
			return nil, fmt.Errorf("capture: no interface %q on this host (it has: %s)", name, op.names())
		}
	}
	c := newCapture(cf, opts)
	c.op = op
	for _, name := range ifaces {
		r, err := op.open(name, cf, c.log)
		if err != nil {
			c.closeRings()
			return nil, err
		}
		c.addSource(name, r)
	}
	return c, nil
}

func newCapture(cf *compiledFilter, opts Options) *Capture {
	c := &Capture{log: opts.Logger, clock: opts.Clock}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.System()
	}
	c.filter.Store(cf)
	return c
}

func (c *Capture) addSource(name string, r ring) {
	s := &source{c: c, name: name, dec: decode.NewDecoder(), r: r}
	s.up.Store(true)
	c.sources = append(c.sources, s)
}

// FromFile reports whether c reads a capture file (OpenFile): it ends,
// its events carry the time they were captured, which may be long ago,
// and it may have been captured on another host.
func (c *Capture) FromFile() bool { return c.op == nil }

// interfaceNames lists this host's interfaces for error messages.
func interfaceNames() string {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return "none found"
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return strings.Join(names, ", ")
}

// Run reads packets until ctx ends, or a file to its end, and calls
// handle with every knock, in arrival order, from the goroutine that
// called Run. The event is only valid during the call. An interface that
// goes down or away is logged and retried with backoff; the capture goes
// on meanwhile. Run returns nil once ctx is done or the file has ended,
// the error that stopped the reading of a file otherwise, and releases
// the capture: Run is called once.
func (c *Capture) Run(ctx context.Context, handle func(*knock.Event)) error {
	_, err := c.run(ctx, handle, nil)
	return err
}

// RunBatched is Run that also calls flush, from the same goroutine, at the
// end of each batch of knocks: once no further knock is ready without
// waiting. A handler that queues knocks for another goroutine wakes it
// there, once a batch rather than once a knock: under a flood a batch is
// a millisecond's packets.
func (c *Capture) RunBatched(ctx context.Context, handle func(*knock.Event), flush func()) error {
	_, err := c.run(ctx, handle, flush)
	return err
}

// run is RunBatched, which also says whether a file ended (rather than
// ctx); flush may be nil.
func (c *Capture) run(ctx context.Context, handle func(*knock.Event), flush func()) (ended bool, err error) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return false, errors.New("capture: Run called on a closed capture")
	case c.running:
		c.mu.Unlock()
		return false, errors.New("capture: Run called twice")
	}
	ctx, c.stop = context.WithCancel(ctx)
	c.running = true
	c.finished = make(chan struct{})
	c.mu.Unlock()
	defer func() {
		c.stop()
		c.mu.Lock()
		c.closeRings()
		c.closed = true
		c.mu.Unlock()
		close(c.finished)
	}()
	if c.interrupt != nil {
		defer context.AfterFunc(ctx, c.interrupt)()
	}

	if len(c.sources) == 1 {
		err := c.sources[0].run(ctx, handle, flush)
		if ctx.Err() != nil {
			// A read cut short by the interrupt is the end Run was
			// asked for, not a broken file.
			return false, nil
		}
		return true, err
	}
	// Several interfaces: one reader each, their events funnelled to
	// this goroutine. Each interface's events stay in order.
	events := make(chan knock.Event, 1024)
	var wg sync.WaitGroup
	for _, s := range c.sources {
		wg.Go(func() {
			s.run(ctx, func(ev *knock.Event) {
				select {
				case events <- *ev:
				case <-ctx.Done():
				}
			}, nil)
		})
	}
	for {
		select {
		case ev := <-events:
			handle(&ev)
			if flush != nil && len(events) == 0 {
				flush()
			}
		case <-ctx.Done():
			wg.Wait()
			return false, nil
		}
	}
}

// Close releases the capture. A running Run is stopped and waited for.
func (c *Capture) Close() error {
	c.mu.Lock()
	if c.running && !c.closed {
		stop, finished := c.stop, c.finished
		c.mu.Unlock()
		stop()
		<-finished
		return nil
	}
	c.closeRings()
	c.closed = true
	c.mu.Unlock()
	return nil
}

// closeRings closes every open ring; c.mu is held and no reader runs.
func (c *Capture) closeRings() {
	for _, s := range c.sources {
		s.mu.Lock()
		s.closeRingLocked()
		s.mu.Unlock()
	}
}

// SetFilter replaces the filter, in user space at once and in the kernel
// on every open socket. An invalid filter is an error and changes nothing.
func (c *Capture) SetFilter(f Filter) error {
	cf, err := compile(f)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.filter.Store(cf)
	for _, s := range c.sources {
		s.mu.Lock()
		if s.r != nil {
			if err := s.r.setFilter(cf); err != nil {
				// The reader reopens the ring, with the new filter.
				c.log.Warn("capture: cannot set the new filter; reopening", "iface", s.name, "err", err)
				s.stale.Store(true)
				s.interruptLocked()
			}
		}
		s.mu.Unlock()
	}
	return nil
}

// Stats returns the counters of every interface.
func (c *Capture) Stats() Stats {
	var st Stats
	for _, s := range c.sources {
		s.mu.Lock()
		drops := s.dropsDone
		if s.r != nil {
			if d, err := s.r.drops(); err == nil {
				drops += d
			}
		}
		s.mu.Unlock()
		st.Interfaces = append(st.Interfaces, InterfaceStats{
			Name:    s.name,
			Up:      s.up.Load(),
			Reopens: s.reopens.Load(),
			Counters: Counters{
				Packets:      s.packets.Load(),
				Drops:        drops,
				DecodeErrors: s.decodeErrors.Load(),
				Events:       s.events.Load(),
			},
		})
	}
	return st
}

// run reads s until ctx ends, reopening its ring after failures; a file
// until its end (nil) or until it cannot be read (the error). It calls
// flush, when not nil, after the knocks delivered once no frame is ready
// (see RunBatched).
func (s *source) run(ctx context.Context, deliver func(*knock.Event), flush func()) error {
	done := ctx.Done()
	delivered := false // since the last flush; only with a flush
	defer func() {
		if delivered {
			flush()
		}
	}()
	defer context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.interruptLocked()
		s.mu.Unlock()
	})()
	var ev knock.Event
	for {
		select {
		case <-done:
			return nil
		default:
		}
		r := s.r // only this goroutine writes s.r while Run runs
		if r == nil || s.stale.Load() {
			if !s.reopen(ctx) {
				return nil
			}
			continue
		}
		data, link, ts, err := r.next()
		if err != nil {
			if delivered {
				flush()
				delivered = false
			}
			if end, ok := err.(*endError); ok {
				return end
			}
			switch err {
			case errNoPacket:
			case io.EOF:
				return nil
			default:
				s.fail(err)
			}
			continue
		}
		s.packets.Add(1)
		ok, err := s.dec.Decode(link, data, ts, &ev)
		if err != nil {
			s.decodeErrors.Add(1)
			s.logDecodeError(err)
			ok = false
		}
		if ok && s.c.filter.Load().match(&ev) {
			s.events.Add(1)
			deliver(&ev)
			delivered = flush != nil
		}
		if delivered && !more(r) {
			flush()
			delivered = false
		}
	}
}

// more reports whether r has another frame ready after the one just read;
// a ring that cannot tell says no, so that every knock is flushed.
func more(r ring) bool {
	b, ok := r.(batcher)
	return ok && b.more()
}

// interruptLocked cuts short the wait of s's ring, if it is waiting and
// can be interrupted: the reader then checks its context and whether the
// ring is stale. s.mu is held.
func (s *source) interruptLocked() {
	if r, ok := s.r.(interruptible); ok {
		r.interrupt()
	}
}

// logDecodeError logs at most one decode error a second: a stream of
// garbage must not flood the log.
func (s *source) logDecodeError(err error) {
	now := s.c.clock.Now().UnixNano()
	last := s.lastDecodeLog.Load()
	if now-last < int64(time.Second) || !s.lastDecodeLog.CompareAndSwap(last, now) {
		return
	}
	s.c.log.Debug("capture: undecodable frame", "iface", s.name, "err", err, "total", s.decodeErrors.Load())
}

// fail closes s's ring after err; the reader then reopens it.
func (s *source) fail(err error) {
	s.c.log.Warn("capture: interface failed; retrying", "iface", s.name, "err", err)
	s.mu.Lock()
	s.closeRingLocked()
	s.mu.Unlock()
}

func (s *source) closeRingLocked() {
	if s.r == nil {
		return
	}
	if d, err := s.r.drops(); err == nil {
		s.dropsDone += d
	}
	s.r.close()
	s.r = nil
	s.up.Store(false)
}

// reopen retries opening s's interface with exponential backoff until it
// works (true) or ctx ends (false).
func (s *source) reopen(ctx context.Context) bool {
	if s.stale.Load() {
		s.mu.Lock()
		s.closeRingLocked()
		s.mu.Unlock()
	}
	downSince := s.c.clock.Now()
	delay := retryFirst
	var lastErr string
	for attempt := 1; ; attempt++ {
		if !s.c.sleep(ctx, delay) {
			return false
		}
		err := s.open()
		if err == nil {
			s.reopens.Add(1)
			s.c.log.Info("capture: capturing again", "iface", s.name, "down_for", s.c.clock.Now().Sub(downSince).Round(time.Millisecond), "attempts", attempt)
			return true
		}
		// Say it when the reason changes, not on every retry of a long
		// outage.
		if err.Error() != lastErr {
			s.c.log.Warn("capture: interface unavailable; retrying", "iface", s.name, "err", err, "next_retry_max", retryMax)
			lastErr = err.Error()
		}
		delay = min(2*delay, retryMax)
	}
}

// open opens a new ring on s's interface with the current filter.
func (s *source) open() error {
	op := s.c.op
	switch exists, up := op.lookup(s.name); {
	case !exists:
		return fmt.Errorf("capture: interface %q is gone", s.name)
	case !up:
		return fmt.Errorf("capture: interface %q is down", s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := op.open(s.name, s.c.filter.Load(), s.c.log)
	if err != nil {
		return err
	}
	s.r = r
	s.stale.Store(false)
	s.up.Store(true)
	return nil
}

// sleep waits d on c's clock, or until ctx ends (false).
func (c *Capture) sleep(ctx context.Context, d time.Duration) bool {
	wake := make(chan struct{})
	t := c.clock.AfterFunc(d, func() { close(wake) })
	select {
	case <-wake:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}
