package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Buffer collects log output written from several goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// A Record is one JSON log record: "time", "level", "msg" and the
// attributes, as encoding/json decodes them (numbers are float64).
type Record map[string]any

// New returns a Logger that writes JSON records at every level, down to
// Debug, into the returned Buffer, which is shown if tb fails.
func New(tb testing.TB) (*slog.Logger, *Buffer) {
	b := newBuffer(tb)
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// NewText is New with slog's text format, for tests that match the lines
// an operator reads.
func NewText(tb testing.TB) (*slog.Logger, *Buffer) {
	b := newBuffer(tb)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func newBuffer(tb testing.TB) *Buffer {
	b := &Buffer{}
	tb.Cleanup(func() {
		if tb.Failed() && b.String() != "" {
			tb.Logf("log:\n%s", b)
		}
	})
	return b
}

// Write appends p; it is safe to call from several goroutines.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records decodes every line written so far as a JSON record, failing tb
// at the first line that is not one.
func (b *Buffer) Records(tb testing.TB) []Record {
	tb.Helper()
	var recs []Record
	for line := range strings.Lines(b.String()) {
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("logtest: log line %q is not JSON: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// Messages returns the messages of the records whose message starts with
// prefix, each followed by " key=value" for every key in keys, in order.
func (b *Buffer) Messages(tb testing.TB, prefix string, keys ...string) []string {
	tb.Helper()
	var out []string
	for _, rec := range b.Records(tb) {
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, prefix) {
			continue
		}
		for _, k := range keys {
			msg += fmt.Sprintf(" %s=%v", k, rec[k])
		}
		out = append(out, msg)
	}
	return out
}

// WaitFor polls for up to timeout until text has been written, failing tb
// with the whole log if it never is: the component logs from its own
// goroutine, so the test cannot know when.
func (b *Buffer) WaitFor(tb testing.TB, text string, timeout time.Duration) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), text) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("logtest: the log never said %q in %v:\n%s", text, timeout, b)
		}
	}
}
