package logtest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Records from many goroutines all arrive whole, in JSON, Debug included.
func TestNewCollectsRecordsFromGoroutines(t *testing.T) {
	log, buf := New(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { log.Debug("test: knock", "n", i, "src", "192.0.2.1") })
	}
	wg.Wait()
	log.Info("test: done")

	recs := buf.Records(t)
	if len(recs) != 21 {
		t.Fatalf("%d records, want 21:\n%s", len(recs), buf)
	}
	var ns []int
	for _, rec := range recs[:20] {
		ns = append(ns, int(rec["n"].(float64)))
	}
	slices.Sort(ns)
	for i, n := range ns {
		if n != i {
			t.Fatalf("record numbers (-want 0..19 +got) %v", ns)
		}
	}
	if got := recs[20]["msg"]; got != "test: done" {
		t.Errorf("last record's msg = %q, want %q", got, "test: done")
	}
}

func TestMessages(t *testing.T) {
	log, buf := New(t)
	log.Info("music: knock refused", "src", "192.0.2.1", "suppressed", 3)
	log.Info("music: playing", "song", "a")
	log.Warn("music: knock refused again", "src", "192.0.2.2")
	tests := []struct {
		name   string
		prefix string
		keys   []string
		want   []string
	}{
		{"prefix with keys", "music: knock refused", []string{"src", "suppressed"}, []string{
			"music: knock refused src=192.0.2.1 suppressed=3",
			"music: knock refused again src=192.0.2.2 suppressed=<nil>",
		}},
		{"whole message", "music: playing", nil, []string{"music: playing"}},
		{"no match", "daemon:", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buf.Messages(t, tt.prefix, tt.keys...); !slices.Equal(tt.want, got) {
				t.Errorf("Messages(%q, %q) (-want +got):\n-%q\n+%q", tt.prefix, tt.keys, tt.want, got)
			}
		})
	}
}

func TestNewTextWritesOperatorLines(t *testing.T) {
	log, buf := NewText(t)
	log.Debug("daemon: door disabled", "door", "once")
	if want := `level=DEBUG msg="daemon: door disabled" door=once` + "\n"; !strings.HasSuffix(buf.String(), want) {
		t.Errorf("log = %q, want it to end %q", buf, want)
	}
}

// fakeTB records what a helper reports instead of failing the real test.
type fakeTB struct {
	testing.TB
	failed   bool
	fatal    string
	logged   []string
	cleanups []func()
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Failed() bool      { return f.failed }
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Logf(format string, args ...any) {
	f.logged = append(f.logged, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.fatal = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn as a test body would: Fatalf ends it, then cleanups run.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	for _, c := range slices.Backward(f.cleanups) {
		c()
	}
}

func TestRecordsFailsOnTextLine(t *testing.T) {
	tb := &fakeTB{TB: t}
	tb.run(func() {
		_, buf := New(tb)
		fmt.Fprintln(buf, "plain text")
		buf.Records(tb)
	})
	if !strings.Contains(tb.fatal, `"plain text\n" is not JSON`) {
		t.Errorf("Fatalf said %q, want it to name the line that is not JSON", tb.fatal)
	}
}

func TestLogShownOnlyWhenTestFails(t *testing.T) {
	for _, fail := range []bool{false, true} {
		tb := &fakeTB{TB: t}
		tb.run(func() {
			log, _ := NewText(tb)
			log.Info("daemon: started")
			tb.failed = fail
		})
		shown := len(tb.logged) == 1 && strings.Contains(tb.logged[0], `msg="daemon: started"`)
		if shown != fail {
			t.Errorf("test failed %v: log shown %v (%q), want %v", fail, shown, tb.logged, fail)
		}
	}
}

func TestWaitFor(t *testing.T) {
	log, buf := NewText(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		log.Info("capture: capturing again", "iface", "veth0")
	}()
	buf.WaitFor(t, "capturing again", 20*time.Second)

	tb := &fakeTB{TB: t}
	tb.run(func() { buf.WaitFor(tb, "never said", 30*time.Millisecond) })
	if !strings.Contains(tb.fatal, `never said "never said"`) || !strings.Contains(tb.fatal, "capturing again") {
		t.Errorf("Fatalf said %q, want it to name the text and show the log", tb.fatal)
	}
}
