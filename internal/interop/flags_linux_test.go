//go:build linux

package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// knockdLogLine is a line of knockd's LogFile: "[YYYY-MM-DD HH:MM] msg".
var knockdLogLine = regexp.MustCompile(`^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}\] \S`)

// A flagRun is knockd and knockbeepd started with the same flags on one
// lab, knocked by x over IPv4 and x6 over IPv6.
type flagRun struct {
	knockd, knockbeepd *daemon
	dir                string
}

// TestKnockdFlagsInTheDaemon starts knockd and knockbeepd with the same
// knockd flags on a knockd.conf without options, knocks both, and checks
// each flag means the same to both.
func TestKnockdFlagsInTheDaemon(t *testing.T) {
	tests := []struct {
		name  string
		args  []string // FILE stands for a file in the run's directory
		check func(t *testing.T, r flagRun)
	}{
		{
			// Without -i knockd would capture on eth0, which the
			// lab lacks.
			name: "-i IFACE", args: []string{"-i", srvIf},
			check: func(t *testing.T, r flagRun) {
				want := []string{"ssh " + x, "ssh " + x6}
				for _, d := range []*daemon{r.knockd, r.knockbeepd} {
					if diff := diffLines(want, sortedCopy(d.opened())); diff != "" {
						t.Errorf("%s -i %s ran other commands %s", d.name, srvIf, diff)
					}
				}
				if !strings.Contains(r.knockbeepd.out.String(), "interfaces=["+srvIf+"]") {
					t.Errorf("knockbeepd -i %s does not say it captures on %s", srvIf, srvIf)
				}
			},
		},
		{
			name: "-4 ignores IPv6 knocks", args: []string{"-i", srvIf, "-4"},
			check: func(t *testing.T, r flagRun) {
				for _, d := range []*daemon{r.knockd, r.knockbeepd} {
					if diff := diffLines([]string{"ssh " + x}, d.opened()); diff != "" {
						t.Errorf("%s -4 ran other commands %s", d.name, diff)
					}
				}
			},
		},
		{
			name: "-g FILE logs in knockd's format", args: []string{"-i", srvIf, "-g", "FILE"},
			check: func(t *testing.T, r flagRun) {
				for _, d := range []*daemon{r.knockd, r.knockbeepd} {
					data, err := os.ReadFile(filepath.Join(d.dir, "FILE"))
					if err != nil {
						t.Fatalf("%s -g: %v", d.name, err)
					}
					lines := strings.Split(strings.TrimSpace(string(data)), "\n")
					opened := false
					for _, line := range lines {
						if line == "" {
							continue // knockd writes some messages with a newline of their own
						}
						if !knockdLogLine.MatchString(line) {
							t.Errorf("%s -g: line %q is not in knockd's format [YYYY-MM-DD HH:MM] msg", d.name, line)
						}
						opened = opened || strings.Contains(line, x) && strings.Contains(line, "ssh") &&
							(strings.Contains(line, "OPEN SESAME") || strings.Contains(line, "door opened"))
					}
					if !opened {
						t.Errorf("%s -g: no line says door ssh opened for %s:\n%s", d.name, x, data)
					}
					if testing.Verbose() {
						t.Logf("%s -g wrote:\n%s", d.name, data)
					}
				}
			},
		},
		{
			name: "-p FILE", args: []string{"-i", srvIf, "-p", "FILE"},
			check: func(t *testing.T, r flagRun) {
				// knockd writes its pidfile only when it daemonises
				// (-d); knockbeepd, which runs under a service
				// manager, writes it in the foreground.
				if _, err := os.Stat(filepath.Join(r.knockd.dir, "FILE")); err == nil {
					t.Errorf("knockd -p without -d wrote its pidfile: the difference documented is gone")
				}
				pidfile := filepath.Join(r.knockbeepd.dir, "FILE")
				data, err := os.ReadFile(pidfile)
				if err != nil {
					t.Fatalf("knockbeepd -p: %v", err)
				}
				if got, want := strings.TrimSpace(string(data)), strconv.Itoa(r.knockbeepd.cmd.Process.Pid); got != want {
					t.Errorf("knockbeepd -p: the pidfile holds %q, want its pid %s", got, want)
				}
				r.knockbeepd.stop(5 * time.Second)
				if _, err := os.Stat(pidfile); err == nil {
					t.Errorf("knockbeepd -p: the pidfile is still there after it stopped")
				}
			},
		},
		{
			name: "-v", args: []string{"-i", srvIf, "-v"},
			check: func(t *testing.T, r flagRun) {
				if out := r.knockd.out.String(); !strings.Contains(out, "OPEN SESAME") {
					t.Errorf("knockd -v does not say the door opened:\n%s", out)
				}
				out := r.knockbeepd.out.String()
				if !strings.Contains(out, "door opened") {
					t.Errorf("knockbeepd -v does not say the door opened:\n%s", out)
				}
				if strings.Contains(out, "level=DEBUG") {
					t.Errorf("knockbeepd -v logs debug lines:\n%s", out)
				}
			},
		},
		{
			name: "-D", args: []string{"-i", srvIf, "-D"},
			check: func(t *testing.T, r flagRun) {
				// knockd's debug output shows every packet.
				if out := r.knockd.out.String(); !strings.Contains(out, x+":") || !strings.Contains(out, "-> "+srv4.String()+":7000") {
					t.Errorf("knockd -D does not show the packets:\n%s", out)
				}
				if out := r.knockbeepd.out.String(); !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "match: stage") {
					t.Errorf("knockbeepd -D does not show the steps of the knock:\n%s", out)
				}
			},
		},
		{
			name: "-l is accepted", args: []string{"-i", srvIf, "-l"},
			check: func(t *testing.T, r flagRun) {
				for _, d := range []*daemon{r.knockd, r.knockbeepd} {
					if diff := diffLines([]string{"ssh " + x, "ssh " + x6}, sortedCopy(d.opened())); diff != "" {
						t.Errorf("%s -l ran other commands %s", d.name, diff)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			needKnockd(t)
			l := newLab(t)
			dir := t.TempDir()
			// No [options]: the interface comes from -i.
			conf := filepath.Join(dir, "knockd.conf")
			writeFile(t, conf, withCommands("[ssh]\nSequence = 7000,8000"))
			r := flagRun{dir: dir}
			for _, name := range []string{"knockd", "knockbeepd"} {
				work := mkdir(t, dir, name)
				argv := []string{"knockd", "-c", conf}
				ready := "listening on "
				if name == "knockbeepd" {
					argv = []string{ourBinary(t, "knockbeepd"), "-c", conf, "--speaker", "none", "--state-dir", filepath.Join(work, "state")}
					ready = "daemon: capturing"
				}
				for _, a := range tt.args {
					argv = append(argv, strings.ReplaceAll(a, "FILE", filepath.Join(work, "FILE")))
				}
				if name == "knockd" && !strings.Contains(strings.Join(tt.args, " "), "-v") {
					argv = append(argv, "-v") // the only way to see it is ready
				}
				d := l.start(name, work, inNetns(l.srv, argv...))
				if name == "knockbeepd" && strings.Contains(strings.Join(tt.args, " "), "-g") {
					// -g sends knockbeepd's log to the file only.
					ready = ""
					if !waitUntil(10*time.Second, func() bool {
						data, _ := os.ReadFile(filepath.Join(work, "FILE"))
						return strings.Contains(string(data), "daemon: capturing")
					}) {
						t.Fatalf("knockbeepd -g did not log that it captures:\n%s", d.out.String())
					}
				}
				if ready != "" {
					d.waitFor(ready, 10*time.Second)
				}
				if name == "knockd" {
					r.knockd = d
				} else {
					r.knockbeepd = d
				}
			}
			l.openWire().play(t, time.Now(), timeline(knocks(0, x, "7000", "8000"), knocks(100, x6, "7000", "8000")))
			waitUntil(2*time.Second, func() bool { return len(r.knockd.opened()) > 0 && len(r.knockbeepd.opened()) > 0 })
			time.Sleep(300 * time.Millisecond)
			tt.check(t, r)
		})
	}
}
