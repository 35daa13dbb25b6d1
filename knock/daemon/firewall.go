package daemon

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/firewall"
)

// firewallQueueLen bounds the openings waiting for the firewall: each
// takes a fraction of a millisecond, so a full queue means the firewall is
// stuck, and dropping (counted, logged) beats stalling the owner.
const firewallQueueLen = 4096

// pfExpireInterval is how often pf tables, which have no element
// timeouts, are swept of knockers past their door's open_for.
const pfExpireInterval = 10 * time.Second

// FirewallStats count the doors' firewall openings.
type FirewallStats struct {
	Added   uint64 // an address added to (or refreshed in) a set
	Errors  uint64 // a set refused or could not be reached
	Dropped uint64 // openings dropped because the queue was full
}

// An opening is one knocker to let in through a door's sets.
type opening struct {
	door    string
	specs   []string
	openFor time.Duration
	src     netip.Addr
	// knocked is when the kernel took the knock that opened the door
	// (zero for an opening from the fleet): the log gives the time from
	// it to the set updated, the latency a knocker waits for.
	knocked time.Time
}

// firewallOpener adds knockers to the doors' firewall sets. The owner
// hands it openings without waiting; its goroutine alone opens and uses
// the sets (a netlink socket each, opened on first use), so no firewall
// I/O ever runs on the owner.
type firewallOpener struct {
	log   *slog.Logger
	queue chan opening
	done  sync.WaitGroup

	added, errors, dropped atomic.Uint64

	// Owned by the goroutine.
	sets    map[string]firewall.Set
	expires map[string]time.Duration // pf tables: the longest open_for seen
}

func newFirewallOpener(log *slog.Logger, doors []knock.Door) *firewallOpener {
	f := &firewallOpener{log: log, queue: make(chan opening, firewallQueueLen),
		sets: map[string]firewall.Set{}, expires: map[string]time.Duration{}}
	// A restarted daemon sweeps what a crashed one left in pf tables
	// before anything else; the other kinds expire in the kernel.
	for _, d := range doors {
		for _, spec := range d.Open {
			if parsed, err := firewall.ParseSpec(spec); err == nil && parsed.Kind == "pf" {
				f.expires[spec] = max(f.expires[spec], d.OpenFor)
			}
		}
	}
	f.done.Go(f.run)
	return f
}

// open queues src's opening through door's sets; it never blocks.
func (f *firewallOpener) open(door knock.Door, src netip.Addr, knocked time.Time) {
	if len(door.Open) == 0 {
		return
	}
	select {
	case f.queue <- opening{door: door.Name, specs: door.Open, openFor: door.OpenFor, src: src.WithZone(""), knocked: knocked}:
	default:
		f.dropped.Add(1)
		f.log.Error("daemon: firewall queue full; opening dropped", "door", door.Name, "src", src)
	}
}

// close applies the openings queued, then releases the sets.
func (f *firewallOpener) close() {
	close(f.queue)
	f.done.Wait()
}

func (f *firewallOpener) stats() FirewallStats {
	return FirewallStats{Added: f.added.Load(), Errors: f.errors.Load(), Dropped: f.dropped.Load()}
}

func (f *firewallOpener) run() {
	defer func() {
		for _, s := range f.sets {
			s.Close()
		}
	}()
	// The sweep ticks only once there is a pf table to sweep: without
	// one, an idle opener wakes for nothing.
	var sweep *time.Ticker
	var swept <-chan time.Time
	startSweep := func() {
		if sweep == nil && len(f.expires) > 0 {
			sweep = time.NewTicker(pfExpireInterval)
			swept = sweep.C
		}
	}
	defer func() {
		if sweep != nil {
			sweep.Stop()
		}
	}()
	f.expire()
	startSweep()
	for {
		select {
		case o, ok := <-f.queue:
			if !ok {
				return
			}
			f.apply(o)
			startSweep()
		case <-swept:
			f.expire()
		}
	}
}

func (f *firewallOpener) set(spec string) (firewall.Set, error) {
	if s := f.sets[spec]; s != nil {
		return s, nil
	}
	parsed, err := firewall.ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	s, err := firewall.Open(parsed)
	if err != nil {
		return nil, err
	}
	f.sets[spec] = s
	return s, nil
}

func (f *firewallOpener) apply(o opening) {
	start := time.Now()
	added, failed := false, false
	for _, spec := range o.specs {
		s, err := f.set(spec)
		if err == nil {
			var in bool
			in, err = s.Add(o.src, o.openFor)
			added = added || in
		}
		if err != nil {
			failed = true
			f.errors.Add(1)
			f.log.Error("daemon: firewall: door not opened in "+spec, "door", o.door, "src", o.src, "err", err)
			continue
		}
		if _, ok := f.sets[spec].(firewall.Expirer); ok {
			f.expires[spec] = max(f.expires[spec], o.openFor)
		}
	}
	if added {
		f.added.Add(1)
		attrs := []any{"door", o.door, "src", o.src, "for", o.openFor, "took", time.Since(start)}
		if !o.knocked.IsZero() {
			attrs = append(attrs, "since_knock", time.Since(o.knocked))
		}
		f.log.Info("daemon: firewall: opened", attrs...)
	} else if !failed {
		f.log.Warn("daemon: firewall: no set of the door holds this address family", "door", o.door, "src", o.src, "sets", o.specs)
	}
}

// expire sweeps the sets whose firewall has no timeouts of its own.
func (f *firewallOpener) expire() {
	for spec, maxAge := range f.expires {
		s, err := f.set(spec)
		if err != nil {
			continue
		}
		if err := s.(firewall.Expirer).Expire(maxAge); err != nil {
			f.log.Warn("daemon: firewall: expiring "+spec, "err", err)
		}
	}
}
