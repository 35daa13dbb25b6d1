package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/knock/config"
)

// logOutputs are the destinations of the daemon's log, built from
// config.Log: standard error, a file and syslog, each with its handler.
// The level is shared and can change on reload; the file is reopened on
// reload so that logrotate's SIGHUP starts a new file.
type logOutputs struct {
	level  *slog.LevelVar
	file   *reopenFile // nil without a log file
	syslog io.Closer   // nil without syslog
	logger *slog.Logger
}

// newLogOutputs opens what c asks for. stderr is where "standard error"
// lines go (os.Stderr in the daemon, a buffer in tests).
func newLogOutputs(c config.Log, stderr io.Writer) (*logOutputs, error) {
	o := &logOutputs{level: new(slog.LevelVar)}
	o.level.Set(c.Level)
	var hs []slog.Handler
	if c.Stderr {
		hs = append(hs, newFormatHandler(c.Format, stderr, o.level))
	}
	if c.File != "" {
		f, err := openReopenFile(c.File)
		if err != nil {
			return nil, err
		}
		o.file = f
		hs = append(hs, newFormatHandler(c.Format, f, o.level))
	}
	if c.Syslog {
		h, closer, err := newSyslogHandler(o.level)
		if err != nil {
			o.close()
			return nil, err
		}
		o.syslog = closer
		hs = append(hs, h)
	}
	switch len(hs) {
	case 0:
		o.logger = slog.New(slog.DiscardHandler)
	case 1:
		o.logger = slog.New(hs[0])
	default:
		o.logger = slog.New(fanout(hs))
	}
	return o, nil
}

// reload applies what of a new log config can change while running, the
// level, and reopens the log file; it returns a note for each change that
// needs a restart.
func (o *logOutputs) reload(old, c config.Log) (restart []string) {
	o.level.Set(c.Level)
	if o.file != nil {
		if err := o.file.reopen(); err != nil {
			o.logger.Error("daemon: cannot reopen the log file; still writing to the old one", "file", o.file.path, "err", err)
		}
	}
	if old.Format != c.Format || old.Stderr != c.Stderr || old.Syslog != c.Syslog || old.File != c.File {
		restart = append(restart, "log destinations and format")
	}
	return restart
}

func (o *logOutputs) close() error {
	var errs []error
	if o.file != nil {
		errs = append(errs, o.file.Close())
	}
	if o.syslog != nil {
		errs = append(errs, o.syslog.Close())
	}
	return errors.Join(errs...)
}

// newFormatHandler returns the handler for one of config's log formats.
func newFormatHandler(format string, w io.Writer, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case config.LogJSON:
		return slog.NewJSONHandler(w, opts)
	case config.LogKnockd:
		return &lineHandler{w: w, level: level, mu: new(sync.Mutex), stamp: knockdStamp}
	default:
		return slog.NewTextHandler(w, opts)
	}
}

// knockdStamp starts a line of knockd's LogFile: "[2006-01-02 15:04] ",
// local time, to the minute.
func knockdStamp(b []byte, t time.Time) []byte {
	b = append(b, '[')
	b = t.AppendFormat(b, "2006-01-02 15:04")
	return append(b, "] "...)
}

// A lineHandler writes one line per record: an optional stamp, the
// message, then the attributes as key=value (quoted when needed). It is
// knockd's LogFile format, and without a stamp the body of a syslog
// message (syslog adds its own time).
type lineHandler struct {
	w     io.Writer
	level slog.Leveler
	mu    *sync.Mutex // shared by the handlers derived with WithAttrs
	stamp func([]byte, time.Time) []byte
	// attrs are the preformatted " key=value" pairs of WithAttrs; group
	// is the key prefix of WithGroup.
	attrs []byte
	group string
	// emit, when set, sends the line instead of writing it to w (syslog).
	emit func(level slog.Level, line string) error
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b []byte
	if h.stamp != nil {
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		b = h.stamp(b, t)
	}
	if r.Level >= slog.LevelWarn {
		b = append(b, r.Level.String()...)
		b = append(b, ": "...)
	}
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	if h.emit != nil {
		return h.emit(r.Level, string(b))
	}
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		h2.attrs = appendAttr(h2.attrs, h.group, a)
	}
	return &h2
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr writes " key=value", with groups flattened into dotted keys.
func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			b = appendAttr(b, p, g)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	s := a.Value.String()
	if a.Value.Kind() == slog.KindTime {
		s = a.Value.Time().Format(time.RFC3339)
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") || !strconv.CanBackquote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// fanout sends every record to each handler that wants it.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return slices.ContainsFunc(f, func(h slog.Handler) bool { return h.Enabled(ctx, l) })
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// A reopenFile is an append-only log file that can be reopened under the
// same name, for logrotate: it renames the file, then sends SIGHUP.
type reopenFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openReopenFile(path string) (*reopenFile, error) {
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	return &reopenFile{path: path, f: f}, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("daemon: opening the log file: %w", err)
	}
	return f, nil
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

func (r *reopenFile) reopen() error {
	f, err := openLogFile(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	return old.Close()
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}
