package daemon

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/config"
)

func TestLogFormats(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 7, 31, 0, time.Local)
	tests := []struct {
		name   string
		format string
		want   string // the line written, as a regular expression
	}{
		{name: "knockd", format: config.LogKnockd,
			want: `^\[2026-05-04 09:07\] daemon: door opened door=ssh src=192\.0\.2\.10 cmd="nft add element" n=3 knock\.port=7000\n$`},
		{name: "text", format: config.LogText,
			want: `^time=\S+ level=INFO msg="daemon: door opened" door=ssh src=192\.0\.2\.10 cmd="nft add element" n=3 knock\.port=7000\n$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := newFormatHandler(tt.format, &buf, slog.LevelInfo)
			log := slog.New(h).With("door", "ssh")
			r := slog.NewRecord(at, slog.LevelInfo, "daemon: door opened", 0)
			r.AddAttrs(slog.String("src", "192.0.2.10"), slog.String("cmd", "nft add element"), slog.Int("n", 3),
				slog.Group("knock", slog.Int("port", 7000)))
			if err := log.Handler().Handle(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tt.want).MatchString(buf.String()) {
				t.Errorf("line %q does not match %q", buf.String(), tt.want)
			}
		})
	}
}

// knockd's format marks warnings and errors, and drops what is below the
// level, which a reload can change.
func TestLogLevelAndWarnings(t *testing.T) {
	var buf bytes.Buffer
	o, err := newLogOutputs(config.Log{Level: slog.LevelWarn, Format: config.LogKnockd, Stderr: true}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	o.logger.Info("hidden")
	o.logger.Warn("careful", "n", 1)
	o.reload(config.Log{Level: slog.LevelWarn, Format: config.LogKnockd, Stderr: true},
		config.Log{Level: slog.LevelDebug, Format: config.LogKnockd, Stderr: true})
	o.logger.Debug("shown now")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{"WARN: careful n=1", "shown now"}
	if len(lines) != len(want) {
		t.Fatalf("lines %q, want %d", lines, len(want))
	}
	for i := range want {
		if _, body, _ := strings.Cut(lines[i], "] "); body != want[i] {
			t.Errorf("line %d: %q, want body %q", i, lines[i], want[i])
		}
	}
}

// The log goes to stderr as JSON and to a file at once; after logrotate
// renames the file, a reload starts a new one.
func TestLogFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "knockbeepd.log")
	var stderr bytes.Buffer
	c := config.Log{Level: slog.LevelInfo, Format: config.LogJSON, Stderr: true, File: path}
	o, err := newLogOutputs(c, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	o.logger.Info("before", "n", 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if restart := o.reload(c, c); len(restart) != 0 {
		t.Errorf("reload of the same log config says %v need a restart", restart)
	}
	o.logger.Info("after", "n", 2)

	for _, tt := range []struct{ file, want string }{{path + ".1", "before"}, {path, "after"}} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(readAll(t, tt.file)), &rec); err != nil || rec["msg"] != tt.want {
			t.Errorf("%s: %q (%v), want one JSON record %q", filepath.Base(tt.file), readAll(t, tt.file), err, tt.want)
		}
	}
	if n := strings.Count(stderr.String(), "\n"); n != 2 {
		t.Errorf("stderr got %d lines, want both", n)
	}
}

// A daemon reading a knockd.conf with LogFile writes knockd's lines there.
func TestKnockdConfLogFile(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
[options]
	LogFile = {{DIR}}/knockd.log
[ssh]
	Sequence = 7000,8000
	Start_Command = true
`)
	cfg.StateDir = filepath.Join(dir, "state")
	replay(t, cfg, Options{Stderr: new(bytes.Buffer)}, pcapFile(t,
		syn(0, "192.0.2.10", hostAddr4, 7000), syn(time.Millisecond, "192.0.2.10", hostAddr4, 8000)))
	log := readAll(t, filepath.Join(dir, "knockd.log"))
	line := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d\] \S`)
	for l := range strings.Lines(log) {
		if !line.MatchString(l) {
			t.Errorf("log line %q is not in knockd's LogFile format", l)
		}
	}
	if !strings.Contains(log, "daemon: door opened door=ssh src=192.0.2.10\n") {
		t.Errorf("the log file lacks the door's opening:\n%s", log)
	}
}
