package daemon

import (
	"sync/atomic"

	"github.com/knockbeep/knockbeep/knock"
)

// eventQueueLen is how many knocks may wait between capture and the
// owner: 32768 events, 2.4 MiB. It absorbs a stall of the owner (an fsync
// when a source's pool is created took 200 ms on a busy disk) of about
// 0.2 s at a flood's 180,000 SYN/s, and of minutes at a song's pace;
// the kernel's ring buffers more behind it.
const eventQueueLen = 1 << 15

// An eventQueue carries knocks from the capture goroutine (the one
// producer) to the owner goroutine (the one consumer), in order, without
// a lock: the producer writes a slot, then publishes it by advancing
// tail; the consumer reads slots up to tail, then frees them by advancing
// head. Each side sleeps on a channel only when it must wait (the queue
// empty, or full), and announces it in a flag that the other side checks
// after each publish, so a busy queue costs a few atomic operations per
// knock and no system call.
type eventQueue struct {
	buf        []knock.Event
	mask       uint64
	head, tail atomic.Uint64
	// consumerWaits and producerWaits say that a side is about to sleep
	// on wake or room.
	consumerWaits, producerWaits atomic.Bool
	wake, room                   chan struct{}
}

func newEventQueue(size int) *eventQueue {
	return &eventQueue{
		buf:  make([]knock.Event, size),
		mask: uint64(size - 1),
		wake: make(chan struct{}, 1),
		room: make(chan struct{}, 1),
	}
}

// push appends ev and wakes the consumer, waiting while the queue is
// full; it gives up and returns false when stop is closed first.
func (q *eventQueue) push(ev *knock.Event, stop <-chan struct{}) bool {
	if !q.add(ev, stop) {
		return false
	}
	q.publish()
	return true
}

// add is push without waking the consumer: a producer that adds a batch
// of knocks wakes it once, with publish, after the last. A full queue
// wakes it all the same, so that it makes room.
func (q *eventQueue) add(ev *knock.Event, stop <-chan struct{}) bool {
	t := q.tail.Load()
	for t-q.head.Load() == uint64(len(q.buf)) {
		q.publish()
		q.producerWaits.Store(true)
		if t-q.head.Load() < uint64(len(q.buf)) { // freed meanwhile
			q.producerWaits.Store(false)
			break
		}
		select {
		case <-q.room:
		case <-stop:
			return false
		}
		q.producerWaits.Store(false)
	}
	q.buf[t&q.mask] = *ev
	q.tail.Store(t + 1)
	return true
}

// publish wakes the consumer if it sleeps: the knocks added are there.
func (q *eventQueue) publish() {
	if q.consumerWaits.Load() {
		notify(q.wake)
	}
}

// pushWait is push, then waits until the consumer has taken ev and every
// event before it (lockstep); false when stop is closed first.
func (q *eventQueue) pushWait(ev *knock.Event, stop <-chan struct{}) bool {
	if !q.push(ev, stop) {
		return false
	}
	t := q.tail.Load() // only this producer moves tail
	for q.head.Load() < t {
		q.producerWaits.Store(true)
		if q.head.Load() >= t { // taken meanwhile
			q.producerWaits.Store(false)
			break
		}
		select {
		case <-q.room:
		case <-stop:
			q.producerWaits.Store(false)
			return false
		}
		q.producerWaits.Store(false)
	}
	return true
}

// drain calls handle with the queued knocks, in order, at most max of
// them, and returns how many it took. The events are valid during the
// call only: their slots are then freed.
func (q *eventQueue) drain(max int, handle func(evs []knock.Event)) int {
	h, t := q.head.Load(), q.tail.Load()
	n := min(t-h, uint64(max))
	if n == 0 {
		return 0
	}
	// The queued events are buf[h&mask:] and may wrap to the start.
	first := h & q.mask
	end := min(first+n, uint64(len(q.buf)))
	handle(q.buf[first:end])
	if rest := n - (end - first); rest > 0 {
		handle(q.buf[:rest])
	}
	q.head.Store(h + n)
	if q.producerWaits.Load() {
		notify(q.room)
	}
	return int(n)
}

// wait sleeps until a knock is queued, or stop is closed (false).
func (q *eventQueue) wait(stop <-chan struct{}) bool {
	if !q.sleeping() {
		return true
	}
	defer q.awake()
	select {
	case <-q.wake:
		return true
	case <-stop:
		return false
	}
}

// sleeping tells the producer that the consumer is about to sleep until
// q.wake, and reports true; or false, and tells nothing, when a knock is
// queued already. A consumer that slept calls awake.
func (q *eventQueue) sleeping() bool {
	q.consumerWaits.Store(true)
	if q.tail.Load() != q.head.Load() { // queued meanwhile
		q.consumerWaits.Store(false)
		return false
	}
	return true
}

// awake ends what sleeping announced.
func (q *eventQueue) awake() { q.consumerWaits.Store(false) }

// notify wakes the side sleeping on c, if it has not been woken already.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
