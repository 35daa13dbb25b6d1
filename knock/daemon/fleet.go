package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/source"
)

// The daemon's place in a fleet ([cluster], package fleet). The owner
// never waits on the network: a use that the fleet must confirm (a
// rotating door's sequence, a message) is recorded in the local replay
// cache on the owner as before, then claimed in the fleet's replay cache
// on a goroutine of its own, whose answer comes back to the owner as a
// request (do), like a reload's; the door opens, or is refused as a
// replay seen at another node, only then. Openings of fleet doors are
// published, the openings of other nodes are applied, and audit records
// are written, all off the owner.

// fleetInFlight bounds the claims and publications waiting for the
// cluster at once. Each takes at most the node's operation timeout (1 s);
// beyond the bound a use is decided alone, as when the cluster is down,
// so that a stalled cluster cannot pile up goroutines.
const fleetInFlight = 256

// An opening the cluster did not take is tried again after
// fleetRetryFirst, then at twice the wait each time up to fleetRetryMax:
// a cluster that lost a node elects new leaders in seconds.
const (
	fleetRetryFirst = 500 * time.Millisecond
	fleetRetryMax   = 8 * time.Second
)

// fleetAuditQueue bounds the audit records waiting for the disk; beyond
// it records are dropped, counted and logged.
const fleetAuditQueue = 1024

// FleetStats count what the daemon did with its fleet.
type FleetStats struct {
	Claims    uint64 // uses claimed in the fleet's replay cache
	Refused   uint64 // uses refused because another node had used the sequence first
	Degraded  uint64 // uses decided alone: the cluster unreachable, or too many claims in flight
	Published uint64 // openings of fleet doors published
	Applied   uint64 // openings of other nodes applied here
	// Unpublished counts openings of fleet doors the cluster did not take.
	Unpublished  uint64
	AuditDropped uint64 // audit records not written: queue or spool full
	// ServerRestarts counts the embedded server started again after it
	// died.
	ServerRestarts uint64
}

// fleetJoined is logged when the node has set up the fleet's replay
// cache, openings and audit stream, and caught up on them.
const fleetJoined = "daemon: fleet: joined"

// fleetPart is the fleet node and the goroutines that talk to it.
type fleetPart struct {
	node   *fleet.Node
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // claims, publications, the openings reader
	slots  chan struct{}
	audits chan fleet.AuditRecord
	// auditDone is closed when the audit writer has written the queue.
	auditDone chan struct{}
	closeOnce sync.Once

	claims, refused, degraded, published, applied, unpublished, auditDropped atomic.Uint64
	// retrying counts the openings being published again after a first
	// try failed.
	retrying atomic.Int64
	// started is when the node was opened: user key changes signed
	// since are timed in the log.
	started time.Time
	// conducting holds, per knocker, the start of the cue conducted for
	// its pool: until then another ensemble knock of its conducts nothing
	// (its pool is used up only when the cue comes back). Owner only.
	conducting map[netip.Addr]time.Time

	alone atomic.Bool // the last fleet operation found the cluster unreachable
	// caughtUp is set once the node has read every user key record since
	// it started: until then a door with fleet_users opens for no one.
	caughtUp atomic.Bool
	// users are the users the doors were last made with; the users
	// goroutine's.
	users map[string]bool

	// closings are the audit records of openings still open, written
	// when each ends (or when the daemon stops).
	mu       sync.Mutex
	closings map[*time.Timer]fleet.AuditRecord
}

// openFleet starts this host's fleet node when cfg has a [cluster]
// table; nil without one. The node sets up the fleet's streams in the
// background: the daemon starts at once and works alone until the cluster
// answers.
func openFleet(cfg *config.Config, log *slog.Logger) (*fleetPart, error) {
	if !cfg.Cluster.Enabled() {
		return nil, nil
	}
	node, err := fleet.Open(context.Background(), cfg.Cluster, fleet.Options{StateDir: cfg.StateDir, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("daemon: [cluster]: %w", err)
	}
	f := &fleetPart{node: node, log: log, slots: make(chan struct{}, fleetInFlight),
		audits: make(chan fleet.AuditRecord, fleetAuditQueue), auditDone: make(chan struct{}),
		closings: map[*time.Timer]fleet.AuditRecord{}, started: time.Now(), conducting: map[netip.Addr]time.Time{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	go f.writeAudits()
	log.Info("daemon: fleet node started; it works alone until the cluster answers", "fleet", cfg.Cluster.Name, "node", node.ID())
	return f, nil
}

// run hands the openings of other nodes to apply and the orchestra's cues
// to cue, on the owner, until the fleet stops.
func (f *fleetPart) run(apply func(fleet.Opening), usersChanged func(), cue func(fleet.Cue)) {
	f.wg.Go(func() {
		if err := f.node.Ready(f.ctx); err != nil {
			return
		}
		f.caughtUp.Store(true)
		usersChanged()
		f.log.Info(fleetJoined, "fleet", f.node.ID())
		for {
			select {
			case <-f.ctx.Done():
				return
			case <-f.node.UserKeysChanged():
				usersChanged()
			}
		}
	})
	f.wg.Go(func() {
		for {
			select {
			case <-f.ctx.Done():
				return
			case o := <-f.node.Openings():
				apply(o)
			case c := <-f.node.Cues():
				cue(c)
			}
		}
	})
}

// stop ends the fleet's work for the daemon: the claims and publications
// in flight finish (each within the node's timeout) and hand their
// results to the owner, so that their doors' commands are queued before
// the runner stops. The node stays open for the audit records to come.
func (f *fleetPart) stop() {
	f.cancel()
	f.wg.Wait()
}

// close writes the closings of openings still open and the audit records
// queued, then closes the node.
func (f *fleetPart) close() {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		for t, rec := range f.closings {
			t.Stop()
			rec.Detail = "the daemon stopped"
			f.audit(rec)
		}
		f.closings = nil
		f.mu.Unlock()
		close(f.audits)
		<-f.auditDone
		if err := f.node.Close(); err != nil {
			f.log.Warn("daemon: fleet: closing the node", "err", err)
		}
	})
}

func (f *fleetPart) stats() FleetStats {
	if f == nil {
		return FleetStats{}
	}
	st := FleetStats{Claims: f.claims.Load(), Refused: f.refused.Load(), Degraded: f.degraded.Load(),
		Published: f.published.Load(), Applied: f.applied.Load(), Unpublished: f.unpublished.Load(),
		AuditDropped: f.auditDropped.Load()}
	if f.node != nil { // a fleetPart of the tests may have none
		st.ServerRestarts = f.node.Stats().ServerRestarts
	}
	return st
}

// noteCluster logs, once each way, that the cluster went away or came
// back, from the answer to a fleet operation: an error wrapping
// ErrDegraded (unreachable), or none. Other errors (a peer that did not
// acknowledge a cue) say nothing of the cluster, and neither does an
// operation cut short because the daemon is stopping.
func (f *fleetPart) noteCluster(err error) {
	switch {
	case f.ctx.Err() != nil:
	case errors.Is(err, fleet.ErrDegraded):
		if !f.alone.Swap(true) {
			f.log.Warn("daemon: fleet: the cluster is unreachable; deciding alone (local replay cache, openings not shared) until it answers", "err", err)
		}
	case err == nil && f.alone.Swap(false):
		f.log.Info("daemon: fleet: the cluster answers again")
	}
}

// claim asks the fleet, on a goroutine, whether this is the first use of
// a sequence anywhere, and hands the answer to done. It returns false,
// doing nothing, when too many claims are in flight: the caller decides
// alone.
func (f *fleetPart) claim(key string, ttl time.Duration, done func(first bool, err error)) bool {
	select {
	case f.slots <- struct{}{}:
	default:
		return false
	}
	f.wg.Go(func() {
		defer func() { <-f.slots }()
		first, err := f.node.Claim(f.ctx, key, ttl)
		f.noteCluster(err)
		f.claims.Add(1)
		done(first, err)
	})
	return true
}

// publish tells the fleet that door opened here for addr until until. A
// try the cluster does not take (unreachable, or choosing a new leader
// after losing a node) is tried again, the same signed message each time,
// until the stream has it or the other nodes could no longer apply it:
// an opening is not lost to a moment's election, and never made twice.
func (f *fleetPart) publish(door string, addr netip.Addr, until time.Time) {
	o, err := f.node.SealOpening(door, addr, until)
	if err != nil {
		f.unpublished.Add(1)
		f.log.Warn("daemon: fleet: opening not published: it is open here only", "door", door, "src", addr, "err", err)
		return
	}
	select {
	case f.slots <- struct{}{}:
	default:
		f.unpublished.Add(1)
		f.log.Warn("daemon: fleet: too many fleet operations in flight; opening not published", "door", door, "src", addr)
		return
	}
	f.wg.Go(func() {
		// The first try holds a slot; the tries after it hold none
		// (claims on the knock path need them) but are bounded in
		// number all the same.
		holding, retrying := true, false
		defer func() {
			if holding {
				<-f.slots
			}
			if retrying {
				f.retrying.Add(-1)
			}
		}()
		giveUp := func(tries int, err error) {
			// A try that timed out may have been stored all the same:
			// the others may or may not have it.
			f.unpublished.Add(1)
			f.log.Warn("daemon: fleet: opening not confirmed by the cluster: it may be open here only", "door", door, "src", addr, "tries", tries, "err", err)
		}
		wait := fleetRetryFirst
		for try := 1; ; try++ {
			err := f.node.PublishSealed(f.ctx, o)
			f.noteCluster(err)
			switch {
			case err == nil:
				f.published.Add(1)
				if try > 1 {
					f.log.Info("daemon: fleet: opening published", "door", door, "src", addr, "tries", try)
				}
				return
			case f.ctx.Err() != nil: // stopping
				f.unpublished.Add(1)
				return
			case try == 1:
				<-f.slots
				holding = false
				if f.retrying.Add(1) > fleetInFlight {
					f.retrying.Add(-1)
					giveUp(try, err)
					return
				}
				retrying = true
				f.log.Warn("daemon: fleet: opening not published yet; trying again while the other nodes could still apply it", "door", door, "src", addr, "err", err)
			}
			if !o.Deliverable(time.Now().Add(wait)) {
				giveUp(try, err)
				return
			}
			select {
			case <-f.ctx.Done():
				f.unpublished.Add(1)
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, fleetRetryMax)
		}
	})
}

// audit queues a record for the node's chain; it never blocks.
func (f *fleetPart) audit(rec fleet.AuditRecord) {
	select {
	case f.audits <- rec:
	default:
		f.auditDropped.Add(1)
		f.log.Error("daemon: fleet: audit queue full; record dropped", "kind", rec.Kind, "door", rec.Door, "src", rec.Addr)
	}
}

// auditOpen records an opening now and its closing at until.
func (f *fleetPart) auditOpen(rec fleet.AuditRecord, until time.Time) {
	f.audit(rec)
	closing := rec
	closing.Kind, closing.Detail = fleet.AuditClosing, ""
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closings == nil {
		return // closed: the daemon is stopping
	}
	var t *time.Timer
	t = time.AfterFunc(time.Until(until), func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.closings[t]; ok {
			delete(f.closings, t)
			f.audit(closing)
		}
	})
	f.closings[t] = closing
}

func (f *fleetPart) writeAudits() {
	defer close(f.auditDone)
	for rec := range f.audits {
		if err := f.node.Audit(rec); err != nil {
			f.auditDropped.Add(1)
			f.log.Error("daemon: fleet: audit record not kept", "kind", rec.Kind, "door", rec.Door, "err", err)
		}
	}
}

// fleetUsers is source.Env's FleetUsers: the fleet's users' keys by
// name, and whether the node has caught up on them.
func (f *fleetPart) fleetUsers() ([]portlang.NamedKey, bool) {
	if !f.caughtUp.Load() {
		return nil, false
	}
	m := f.node.UserKeys()
	keys := make([]portlang.NamedKey, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		keys = append(keys, portlang.NamedKey{Name: name, Key: m[name]})
	}
	return keys, true
}

// usersChanged makes the doors with fleet_users again from the fleet's
// users' keys, off the owner like a reload (the other doors' key files
// are read again too), and swaps them in on the owner; attempts on
// sequences still offered carry over, a message door's texts in progress
// are lost. Each user added or revoked is logged and audited once the
// doors are in force.
func (d *Daemon) usersChanged() {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	keys, _ := d.fleet.fleetUsers()
	now := map[string]bool{}
	for _, k := range keys {
		now[k.Name] = true
	}
	cfg := d.cfg // only a reload changes it, and reloadMu is ours
	if slices.ContainsFunc(cfg.Doors, func(door knock.Door) bool { return door.Rotating != nil && door.Rotating.FleetUsers }) {
		doors, err := newDoorSet(cfg, d.sourceEnv(), d.opts.Clock.Now())
		if err != nil {
			d.log.Error("daemon: fleet: the users' keys changed but the doors could not be made again; keeping the old ones", "err", err)
			return
		}
		d.do(func() { d.swap(cfg, doors, d.replayCache, nil, false, true) })
	}
	// since_change: from a change signed at a node, while this daemon
	// runs, to its doors in force here (the promise is within a second).
	// Users read at start-up, changed long before, have none.
	attrs := func(name string) []any {
		at := d.fleet.node.UserChangedAt(name)
		if at.Before(d.fleet.started) {
			return []any{"user", name}
		}
		return []any{"user", name, "since_change", time.Since(at).Round(time.Millisecond)}
	}
	for _, name := range slices.Sorted(maps.Keys(now)) {
		if !d.fleet.users[name] {
			d.log.Info("daemon: fleet: user added", attrs(name)...)
			d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditKeyAdded, User: name})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.fleet.users)) {
		if !now[name] {
			d.log.Info("daemon: fleet: user revoked", attrs(name)...)
			d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditKeyRevoked, User: name})
		}
	}
	d.fleet.users = now
}

// openUntil is how long an opening of door at now lasts: its firewall
// sets' time or its stop command's delay, whichever is longer.
func openUntil(door knock.Door, now time.Time) time.Time {
	d := door.StopDelay
	if len(door.Open) > 0 {
		d = max(d, door.OpenFor)
	}
	return now.Add(d)
}

// A claimNote is the replay cache record a door's use made on the owner
// (claimTap): what the fleet must be asked to claim too.
type claimNote struct {
	id      [16]byte
	expires time.Time
}

// claimTap is the replay cache the doors' sources see when the daemon is
// in a fleet: the local cache, noting each record it adds, so that the
// owner can claim the same use in the fleet right after the source's Used.
type claimTap struct {
	cache source.ReplayCache
	note  *claimNote // the owner's: set by Add, taken by takeClaim
}

func (t claimTap) Add(id [16]byte, expires time.Time) (bool, error) {
	added, err := t.cache.Add(id, expires)
	if added && err == nil {
		*t.note = claimNote{id: id, expires: expires}
	}
	return added, err
}

// replayFor is the replay cache to give the doors' sources: cache, noted
// for the fleet when there is one.
func (d *Daemon) replayFor(cache source.ReplayCache) source.ReplayCache {
	if d.fleet == nil || cache == nil {
		return cache
	}
	return claimTap{cache: cache, note: &d.claimed}
}

// takeClaim returns, and forgets, the record the last use added to the
// replay cache; false when it added none.
func (d *Daemon) takeClaim() (claimNote, bool) {
	n := d.claimed
	d.claimed = claimNote{}
	return n, !n.expires.IsZero()
}

// fleetClaim claims a use the local cache has just recorded in the
// fleet's cache too, and calls decide on the owner with nil (the first
// use anywhere, or the cluster unreachable: decided alone) or the replay
// error. It returns false when decide must be called now (no fleet, no
// record made, too many claims in flight).
func (d *Daemon) fleetClaim(door string, src netip.Addr, decide func(error)) bool {
	note, ok := d.takeClaim()
	if d.fleet == nil || !ok {
		return false
	}
	ttl := note.expires.Sub(d.now())
	// The door's name keeps two doors with one secret apart; the ID is
	// the local cache's, the same at every node of the fleet.
	key := door + "/" + hex.EncodeToString(note.id[:])
	queued := d.fleet.claim(key, ttl, func(first bool, err error) {
		d.do(func() {
			switch {
			case err != nil:
				d.fleet.degraded.Add(1)
				// Said once (noteCluster) and counted; per use at debug.
				d.log.Debug("daemon: fleet: use decided alone", "door", door, "src", src.WithZone(""), "reason", err)
				decide(nil)
			case !first:
				d.fleet.refused.Add(1)
				decide(fmt.Errorf("used at another node of the fleet: %w", source.ErrReplayed))
			default:
				decide(nil)
			}
		})
	})
	if !queued {
		// Decided alone and counted; the cluster itself may be fine.
		d.fleet.degraded.Add(1)
		d.log.Debug("daemon: fleet: use decided alone", "door", door, "src", src.WithZone(""), "reason", "too many claims in flight")
	}
	return queued
}

// applyOpening opens, on the owner, a fleet door of this host for an
// opening another node published: its firewall sets and commands, for
// the time left of the opening.
func (d *Daemon) applyOpening(o fleet.Opening) {
	src := o.Addr.Unmap()
	i := slices.IndexFunc(d.cfg.Doors, func(c knock.Door) bool { return c.Name == o.Door && c.Fleet })
	if i < 0 {
		d.log.Debug("daemon: fleet: an opening for a door that is not a fleet door here; ignored", "door", o.Door, "node", o.Node)
		return
	}
	door := d.cfg.Doors[i] // a copy: its times are set below
	now := d.opts.Clock.Now()
	left := o.Until.Sub(now)
	if left <= 0 {
		return
	}
	// This host's door, for the time the opening has left: its sets
	// keep the address that long, its stop command runs then.
	door.OpenFor, door.StopDelay = left, left
	d.fleet.applied.Add(1)
	d.log.Info("daemon: door opened by the fleet", "door", door.Name, "src", src, "node", o.Node, "for", left.Round(time.Second))
	d.record("open", door.Name, src, "opened at fleet node "+string(o.Node))
	d.fw.open(door, src, time.Time{})
	d.runner.Open(door, knock.Event{Time: now, Src: src, Proto: knock.TCP})
	d.fleet.auditOpen(fleet.AuditRecord{Kind: fleet.AuditOpening, Door: door.Name, Addr: src.String(),
		Detail: "opened at node " + string(o.Node)}, o.Until)
}
