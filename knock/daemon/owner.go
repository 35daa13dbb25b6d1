package daemon

import (
	"github.com/knockbeep/knockbeep/knock"
)

// The owner is the one goroutine that touches the daemon's state: the
// config in force, the doors and their sources, the matcher, the music
// doors, the rate limiter, the recent events and the counters kept with
// them. It takes the knocks from the event queue in capture order, and
// between them the requests of everyone else: the once-a-second tick, a
// reload's prepared state to swap in, Stats and the status page,
// silencing. Nothing it runs waits for I/O that can take long: commands
// go to the runner, songs to the player, and a reload opens files,
// devices and interfaces before it asks the owner to swap them in.
//
// do is how the others ask. While no owner runs — before Run, after it,
// or in a test that never runs one — do runs the request itself, one at a
// time (ownerMu), so that the state has one user at any moment all the
// same.

// ownerLoop is a running owner's request channel.
type ownerLoop struct {
	requests chan func()
	done     chan struct{} // closed when the owner has returned
}

// do runs f on the owner's state: on the owner goroutine between two
// knocks, or here when no owner runs. It returns when f has returned.
func (d *Daemon) do(f func()) {
	for {
		d.ownerMu.Lock()
		o := d.owner
		if o == nil {
			defer d.ownerMu.Unlock()
			f()
			return
		}
		d.ownerMu.Unlock()
		done := make(chan struct{})
		select {
		case o.requests <- func() { f(); close(done) }:
			<-done
			return
		case <-o.done:
			// The owner returned before it took f: ask again, and run
			// it here.
		}
	}
}

// own is the owner goroutine: it acts on the queued knocks in capture
// order and serves the requests that come through do, until capture has
// stopped (captured is closed) and the queue is empty.
func (d *Daemon) own(q *eventQueue, captured <-chan struct{}) {
	o := &ownerLoop{requests: make(chan func()), done: make(chan struct{})}
	d.ownerMu.Lock()
	d.owner = o
	d.ownerMu.Unlock()
	defer func() {
		d.ownerMu.Lock()
		d.owner = nil
		d.ownerMu.Unlock()
		close(o.done)
	}()
	batch := func(evs []knock.Event) {
		for i := range evs {
			d.handle(&evs[i])
		}
	}
	for {
		if q.drain(ownerBatch, batch) > 0 {
			// A request waits at most one batch, however fast the
			// knocks come.
			select {
			case f := <-o.requests:
				f()
			default:
			}
			continue
		}
		// The queue is empty: sleep until a knock, a request or the
		// end of capture.
		if !q.sleeping() {
			continue
		}
		select {
		case <-q.wake:
		case f := <-o.requests:
			f()
		case <-captured:
			q.awake()
			for q.drain(ownerBatch, batch) > 0 {
			}
			return
		}
		q.awake()
	}
}
