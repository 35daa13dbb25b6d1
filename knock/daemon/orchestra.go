package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"time"

	"github.com/knockbeep/knockbeep/knock/fleet"
)

// The orchestra (knock --song SONG --orchestra HOST1 HOST2 ...): each
// host has a voice of the song knocked into the knocker's pool, and then
// HOST1 gets the ensemble knock ([music] ensemble_port). HOST1 conducts:
// it cues every node of the fleet to play the knocker's pool from one
// instant ensembleLead ahead, and each node that has such a pool plays it
// from that instant on its own clock (package fleet measures the
// conductor's clock against it). The conductor plays its own voice when
// its own cue comes back, like every other node.

// ensembleLead is how far ahead of the ensemble knock the voices start:
// time for the cue to reach every node, for each to measure the
// conductor's clock (three round trips) and to compile its voice.
const ensembleLead = 500 * time.Millisecond

// ensemble acts on an ensemble knock of src's, on the owner. Without a
// fleet it plays src's pool at once, as the play port would. In a fleet
// it conducts, on a goroutine of the fleet's: the owner never waits for
// the cluster. A conductor needs a pool of src's itself (its own voice):
// so an ensemble knock from a source that composed nothing here cues no
// one, and each pool is played by one cue only (a second ensemble knock
// before the first cue's start conducts nothing), which bounds what a
// stranger's ensemble knocks can make the fleet do.
func (d *Daemon) ensemble(src netip.Addr) {
	now := d.opts.Clock.Now()
	if d.fleet == nil {
		if d.music.m.PlayAt(now, src, time.Time{}) {
			d.log.Info("daemon: ensemble knock without a [cluster]: playing the pool here at once", "src", src)
		}
		return
	}
	if !d.music.m.HasPool(src) {
		d.log.Info("daemon: fleet: ensemble knock refused: no pool of the knocker's here to conduct with (knock its voice in first)", "src", src)
		return
	}
	if start, ok := d.fleet.conducting[src]; ok && now.Before(start) {
		d.log.Info("daemon: fleet: ensemble knock refused: a cue for the knocker's pool is under way", "src", src)
		return
	}
	maps.DeleteFunc(d.fleet.conducting, func(_ netip.Addr, start time.Time) bool { return !now.Before(start) })
	d.fleet.conducting[src] = now.Add(ensembleLead)
	d.fleet.conduct(src, ensembleLead, func() {
		d.do(func() {
			if d.music != nil && d.music.m.PlayAt(d.opts.Clock.Now(), src, time.Time{}) {
				d.log.Warn("daemon: fleet: the cluster is unreachable: playing the ensemble's pool here alone, at once", "src", src)
			}
		})
	})
}

// conduct cues every node of the fleet to play src's pool lead from now,
// on a goroutine, and logs and audits the cue and who acknowledged it. A
// node that does not acknowledge within lead would start late: the cue
// is not waited for beyond it, and the nodes missing are logged. With the
// cluster unreachable the node works alone: alone plays the pool here.
func (f *fleetPart) conduct(src netip.Addr, lead time.Duration, alone func()) {
	select {
	case f.slots <- struct{}{}:
	default:
		f.log.Warn("daemon: fleet: too many fleet operations in flight; ensemble knock not conducted", "src", src)
		return
	}
	// Every node plays the knocker's pool it holds, whatever the client
	// numbered it: a voice is named by its node.
	nodes := f.node.Nodes()
	voices := make(map[string]fleet.NodeID, len(nodes))
	for _, id := range nodes {
		voices[string(id)] = id
	}
	f.wg.Go(func() {
		defer func() { <-f.slots }()
		ctx, cancel := context.WithTimeout(f.ctx, lead)
		defer cancel()
		cue, acks, err := f.node.Conduct(ctx, src.String(), voices, lead)
		f.noteCluster(err)
		if errors.Is(err, fleet.ErrDegraded) {
			alone()
			return
		}
		detail := fmt.Sprintf("conducted cue %s for %d nodes, %d acknowledged, start %s", cue.ID, len(voices), len(acks), cue.Start.UTC().Format(time.RFC3339Nano))
		if err != nil {
			f.log.Warn("daemon: fleet: ensemble cue not acknowledged by every node; those that did play", "src", src, "cue", cue.ID,
				"nodes", len(voices), "acks", len(acks), "err", err)
		} else {
			f.log.Info("daemon: fleet: conducted", "src", src, "cue", cue.ID, "nodes", len(voices), "acks", len(acks),
				"cue_start_unix_ns", strconv.FormatInt(cue.Start.UnixNano(), 10))
		}
		if cue.ID != "" {
			f.audit(fleet.AuditRecord{Kind: fleet.AuditOrchestra, Addr: src.String(), Detail: detail})
		}
	})
}

// playCue plays, from the cue's start on this node's clock, the pool of
// the knocker the cue names; a node with no such pool plays nothing (it
// acknowledged the cue all the same: package fleet does before handing it
// over). Runs on the owner.
func (d *Daemon) playCue(c fleet.Cue) {
	src, err := netip.ParseAddr(c.Song)
	if err != nil {
		d.log.Warn("daemon: fleet: a cue that names no knocker; ignored", "cue", c.ID, "conductor", c.Conductor, "song", c.Song)
		return
	}
	attrs := []any{"src", src, "cue", c.ID, "conductor", c.Conductor,
		"cue_start_unix_ns", strconv.FormatInt(c.Start.UnixNano(), 10),
		"local_start_unix_ns", strconv.FormatInt(c.LocalStart.UnixNano(), 10), "rtt", c.RTT}
	switch {
	case d.music == nil || d.cfg.Music.Rotating != nil:
		d.log.Info("daemon: fleet: cue: no static music ports here ([music] off or under a secret); playing nothing", attrs...)
		return
	case !d.music.m.HasPool(src):
		d.log.Info("daemon: fleet: cue: no pool of the knocker's here; playing nothing", attrs...)
		return
	}
	if !d.music.m.PlayAt(d.opts.Clock.Now(), src, c.LocalStart) {
		return // refused and logged by package music
	}
	d.log.Info("daemon: fleet: cue: playing the knocker's pool from the cue's start", attrs...)
	d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditOrchestra, Addr: src.String(),
		Detail: fmt.Sprintf("played its pool for cue %s conducted by %s, start %s", c.ID, c.Conductor, c.Start.UTC().Format(time.RFC3339Nano))})
}
