package daemon

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// waitForStack waits until some goroutine's stack holds fn: a goroutine
// blocked there.
func waitForStack(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.Stack(buf, true)
		if bytes.Contains(buf[:n], []byte(fn)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine reached %s", fn)
		}
		time.Sleep(time.Millisecond)
	}
}

// A reload waits in I/O — here the open(2) of a new speaker, a FIFO that
// nobody reads — and the owner goes on meanwhile: knocks open a door, and
// Stats (which feed.send polls) is answered. Before the owner loop, the
// reload held the owner lock through that open and knocks stalled behind
// it. Runs as any user.
func TestOwnerGoesOnWhileReloadWaitsForIO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "speaker")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const v1 = `
speaker = "none"
state_dir = "{{DIR}}/state"

[music]
enabled = true

[[door]]
name = "a"
sequence = ["7000", "8000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/a.out"]
`
	_, path := testConfig(t, dir, v1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := startFeed(t, path, ctx)

	// The new config's speaker is the FIFO: opening it for writing
	// blocks until a reader comes.
	cfg2, _ := testConfig(t, dir, strings.Replace(v1, `speaker = "none"`, `speaker = "evdev:{{DIR}}/speaker"`, 1))
	applied := make(chan error, 1)
	go func() { applied <- f.d.Apply(cfg2) }()
	waitForStack(t, "beeper.openCharDevice")

	const knocker = "192.0.2.10"
	f.send(syn(0, knocker, hostAddr4, 7000), syn(time.Millisecond, knocker, hostAddr4, 8000))
	waitFile(t, filepath.Join(dir, "a.out"), knocker+"\n")
	if s := f.d.Stats(); s.Match.Opened != 1 {
		t.Errorf("Stats says %d doors opened, want 1", s.Match.Opened)
	}
	select {
	case err := <-applied:
		t.Fatalf("the reload returned (%v) while its speaker's open(2) still waited", err)
	default:
	}

	// A reader lets the open through; the FIFO is no speaker, so the
	// reload fails and the old config stays.
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	select {
	case err := <-applied:
		if err == nil || !strings.Contains(err.Error(), "not a character device") {
			t.Errorf("Apply() = %v, want the FIFO refused as a speaker", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reload did not return once its speaker opened")
	}
	f.send(syn(2*time.Second, knocker, hostAddr4, 7000), syn(2*time.Second+time.Millisecond, knocker, hostAddr4, 8000))
	waitFile(t, filepath.Join(dir, "a.out"), knocker+"\n"+knocker+"\n")
	if err := f.end(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// Requests through do are answered while knocks keep coming: the owner
// looks for one after each batch, not only when the queue runs dry. Each
// answer sees the knocks acted on so far, never fewer than the one
// before, and the last sees them all.
func TestOwnerAnswersWhileKnocksFlow(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"

[music]
enabled = false

[[door]]
name = "a"
sequence = ["7000", "8000"]
`)
	logger, _ := testLogger(t)
	// A daemon whose owner this test runs by hand, on its own queue; its
	// capture (an empty file) is never run.
	d, err := New(cfg, Options{Logger: logger, Replay: bytes.NewReader(nil)})
	if err != nil {
		t.Fatal(err)
	}
	q := newEventQueue(1 << 10)
	captured := make(chan struct{})
	var owner sync.WaitGroup
	owner.Go(func() { d.own(q, captured) })

	const total = 50_000
	stop := make(chan struct{})
	var pushed sync.WaitGroup
	pushed.Go(func() {
		ev := knock.Event{Proto: knock.TCP, Flags: knock.SYN, Time: captureStart,
			Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr(hostAddr4)}
		for i := range total {
			ev.Port = 7000 + uint16(i%2)*1000
			if !q.push(&ev, stop) {
				return
			}
		}
	})
	var last uint64
	for range 50 {
		s := d.Stats()
		if s.Knocks < last {
			t.Fatalf("Stats says %d knocks after %d", s.Knocks, last)
		}
		last = s.Knocks
	}
	pushed.Wait()
	close(captured)
	owner.Wait()
	if s := d.Stats(); s.Knocks != total {
		t.Errorf("Stats says %d knocks after the owner returned, want all %d", s.Knocks, total)
	}
	close(stop)
	d.capt.Load().Close()
	d.shutdown()
}

// Rebuilt music doors that read the pools the old ones append to (only
// the speaker changes) miss no step: a music knock that the old doors
// take while the new ones read the pools makes the reload read them
// again, and after three such races the owner reads them itself. The song
// played after the reload has every step knocked, those of the races
// too. Runs as any user.
func TestReloadMusicRaceKeepsSteps(t *testing.T) {
	for _, races := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d races", races), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "wav"), 0o755); err != nil {
				t.Fatal(err)
			}
			const v1 = `
speaker = "none"
state_dir = "{{DIR}}/state"

[music]
enabled = true
`
			_, path := testConfig(t, dir, v1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			f := startFeed(t, path, ctx)
			const src = "192.0.2.10"
			at := time.Duration(0)
			tone := func() packet { at += time.Millisecond; return syn(at, src, hostAddr4, 1000) }
			f.send(tone(), tone())

			cfg2, _ := testConfig(t, dir, strings.Replace(v1, `speaker = "none"`, `speaker = "wav:{{DIR}}/wav"`, 1))
			var tries []int
			f.d.musicPrepared = func(try int) {
				tries = append(tries, try)
				if try <= races {
					f.send(tone()) // the old music doors take it meanwhile
				}
			}
			if err := f.d.Apply(cfg2); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			wantTries := []int{1, 2}
			if races == 3 {
				wantTries = []int{1, 2, 3} // the fourth read is the owner's
			}
			if !slices.Equal(tries, wantTries) {
				t.Errorf("the pools were read off the owner on tries %v, want %v", tries, wantTries)
			}
			f.send(syn(at+time.Millisecond, src, hostAddr4, 1002)) // play
			want := fmt.Sprintf(`msg="music: song queued" src=%s steps=%d`, src, 2+races)
			f.log.WaitFor(t, want, 10*time.Second)
			if err := f.end(); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}
