package daemon

import (
	"sync"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// One producer and one consumer at full speed through a small queue, so
// that it wraps and fills many times: every knock arrives, once, in
// order; and the consumer's stalls make the producer wait, not drop.
func TestEventQueueOrder(t *testing.T) {
	const n = 200_000
	q := newEventQueue(64)
	stop := make(chan struct{})
	var got []uint16
	var wg sync.WaitGroup
	wg.Go(func() {
		for len(got) < n {
			took := q.drain(ownerBatch, func(evs []knock.Event) {
				for i := range evs {
					got = append(got, evs[i].Port)
				}
			})
			if took == 0 && !q.wait(stop) {
				return
			}
			if len(got)%50_000 == 0 {
				time.Sleep(time.Millisecond) // a stall: the queue fills up
			}
		}
	})
	for i := range n {
		ev := knock.Event{Port: uint16(i)}
		if !q.push(&ev, stop) {
			t.Fatalf("push %d gave up", i)
		}
	}
	wg.Wait()
	for i, p := range got {
		if p != uint16(i) {
			t.Fatalf("knock %d arrived as the %dth (-want +got): -%d +%d", uint16(i), i, uint16(i), p)
		}
	}
}

// A push into a full queue gives up when told to stop, and a waiting
// consumer wakes when told to stop.
func TestEventQueueStop(t *testing.T) {
	q := newEventQueue(2)
	stop := make(chan struct{})
	ev := knock.Event{Port: 1}
	q.push(&ev, stop)
	q.push(&ev, stop)
	done := make(chan bool)
	go func() { done <- q.push(&ev, stop) }()
	close(stop)
	if <-done {
		t.Error("push into a full queue returned true after stop")
	}
	if q.drain(10, func([]knock.Event) {}) != 2 {
		t.Error("drain did not take the two queued knocks")
	}
	if q.wait(stop) {
		t.Error("wait on an empty queue returned true after stop")
	}
}

// pushWait (a file read in step with the owner) returns only once the
// consumer has handled the knock, after the handler returned; and gives
// up when told to stop.
func TestEventQueuePushWait(t *testing.T) {
	q := newEventQueue(8)
	stop := make(chan struct{})
	done := make(chan bool, 1)
	ev := knock.Event{Port: 7}
	go func() { done <- q.pushWait(&ev, stop) }()
	if !q.wait(stop) {
		t.Fatal("the knock was never queued")
	}
	handled := make(chan struct{})
	q.drain(1, func(evs []knock.Event) {
		select {
		case <-done:
			t.Error("pushWait returned before the consumer handled the knock")
		default:
		}
		close(handled)
	})
	<-handled
	if !<-done {
		t.Error("pushWait returned false after the knock was handled")
	}

	go func() { done <- q.pushWait(&ev, stop) }()
	if !q.wait(stop) {
		t.Fatal("the second knock was never queued")
	}
	close(stop)
	if <-done {
		t.Error("pushWait returned true after stop, the knock not handled")
	}
}

func BenchmarkEventQueue(b *testing.B) {
	q := newEventQueue(eventQueueLen)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if q.drain(ownerBatch, func([]knock.Event) {}) == 0 && !q.wait(stop) {
				return
			}
		}
	})
	ev := knock.Event{Port: 1000, Proto: knock.TCP, Flags: knock.SYN}
	b.ReportAllocs()
	for b.Loop() {
		q.push(&ev, stop)
	}
	close(stop)
	wg.Wait()
}

// add wakes no one, so a batch costs one wakeup (publish); but a full
// queue wakes the consumer all the same: a producer that only adds never
// waits for ever on a consumer that sleeps.
func TestEventQueueAddWakesWhenFull(t *testing.T) {
	q := newEventQueue(2)
	stop := make(chan struct{})
	defer close(stop)
	var got []uint16
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for len(got) < 10 {
			q.drain(ownerBatch, func(evs []knock.Event) {
				for i := range evs {
					got = append(got, evs[i].Port)
				}
			})
			if len(got) < 10 && !q.wait(stop) {
				return
			}
		}
	}()
	added := make(chan struct{})
	go func() {
		defer close(added)
		for i := range 10 {
			ev := knock.Event{Port: uint16(i)}
			q.add(&ev, stop)
		}
	}()
	select {
	case <-added:
	case <-time.After(10 * time.Second):
		t.Fatal("add into a full queue never returned: the sleeping consumer was not woken")
	}
	q.publish()
	<-consumed
	for i, p := range got {
		if p != uint16(i) {
			t.Fatalf("knock %d arrived as the %dth", p, i)
		}
	}
}
