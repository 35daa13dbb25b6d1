package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
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

// A daemon reading a knockd.conf with LogFile (or given -g) writes
// knockd's line format there, and for what knockd logs, knockd's own
// words (knockd.c's logprint calls), so that fail2ban filters and scripts
// written for knockd's log keep working.
func TestKnockdConfLogFile(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
[options]
	LogFile = {{DIR}}/knockd.log
[ssh]
	Sequence = 7000,8000,9000
	Cmd_Timeout = 5
	Start_Command = echo open %IP% >> {{DIR}}/fw
	Stop_Command = echo close %IP% >> {{DIR}}/fw
[bell]
	Sequence = 4000
	Start_Command = true
`)
	clk := clocktest.NewFake(captureStart)
	f := startFeedLogging(t, path, context.Background(), Options{Clock: clk, Stderr: new(bytes.Buffer)})
	const x, y, z = "192.0.2.10", "2001:db8::20", "192.0.2.30"
	f.send(syn(0, x, hostAddr4, 7000), syn(1, y, hostAddr6, 7000), syn(2, x, hostAddr4, 8000),
		syn(3, x, hostAddr4, 9000), syn(4, y, hostAddr6, 8000), syn(5, y, hostAddr6, 4000), syn(6, y, hostAddr6, 4000),
		// z's attempt outlives knockd's default seq_timeout, 25 s: its
		// last knock comes too late and is no step.
		syn(7, z, hostAddr4, 7000), syn(8, z, hostAddr4, 8000), syn(30*time.Second, z, hostAddr4, 9000))
	fw := filepath.Join(dir, "fw")
	waitFile(t, fw, "open "+x+"\n")
	if !clk.WaitPending(1, 10*time.Second) {
		t.Fatal("no cmd_timeout timer after the start command")
	}
	clk.Advance(5 * time.Second)
	waitFile(t, fw, "open "+x+"\nclose "+x+"\n")
	if err := f.end(); err != nil {
		t.Fatal(err)
	}

	log := readAll(t, filepath.Join(dir, "knockd.log"))
	stamp := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d\] `)
	var lines []string
	for l := range strings.Lines(log) {
		if !stamp.MatchString(l) {
			t.Errorf("log line %q is not in knockd's LogFile format", l)
		}
		lines = append(lines, strings.TrimSuffix(stamp.ReplaceAllString(l, ""), "\n"))
	}
	// knockd's lines, each a whole line, in the order of the knocks and
	// in the order of the door's commands (the two run side by side);
	// knockbeepd's own lines (a command's exit status, say) may come
	// between.
	for _, want := range [][]string{{
		x + ": ssh: Stage 1",
		y + ": ssh: Stage 1",
		x + ": ssh: Stage 2",
		x + ": ssh: Stage 3",
		x + ": ssh: OPEN SESAME",
		y + ": ssh: Stage 2",
	}, {
		x + ": ssh: OPEN SESAME",
		"ssh: running command: echo open " + x + " >> " + fw,
		x + ": ssh: command timeout",
		"ssh: running command: echo close " + x + " >> " + fw,
	}, {
		z + ": ssh: Stage 1",
		z + ": ssh: Stage 2",
		z + ": ssh: sequence timeout (stage 2)",
	}} {
		if missing := notInOrder(want, lines); missing != "" {
			t.Errorf("the log lacks %q in order; it holds:\n%s", missing, log)
		}
	}
	// y's first knock on the one-port door ends its attempt on ssh (a
	// reset, which knockd does not log), the second opens it.
	for _, w := range []string{y + ": bell: Stage 1", y + ": bell: OPEN SESAME", "bell: running command: true"} {
		if !slices.Contains(lines, w) {
			t.Errorf("the log lacks %q:\n%s", w, log)
		}
	}
	if slices.Contains(lines, z+": ssh: Stage 3") {
		t.Errorf("a knock after the sequence timeout made a stage:\n%s", log)
	}
	if strings.Contains(log, "door opened") || strings.Contains(log, "command: running") {
		t.Errorf("the log has knockbeepd's words where knockd's belong:\n%s", log)
	}
}

// notInOrder returns the first of want not found in got after the ones
// before it, "" when all are.
func notInOrder(want, got []string) string {
	for _, w := range want {
		i := slices.Index(got, w)
		if i < 0 {
			return w
		}
		got = got[i+1:]
	}
	return ""
}
