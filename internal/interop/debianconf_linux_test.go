//go:build linux

package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/internal/testtools"
)

// TestDebianKnockdConfOpensAndClosesSSH runs Debian's shipped knockd.conf,
// unchanged, in knockd and in knockbeepd, each in a lab of its own, and
// knocks it with Debian's knock the way its users do: openSSH adds the
// iptables rule for the knocker (in the lab's namespace, not the host's),
// closeSSH deletes it, and openHTTPS runs a helper Debian does not ship,
// which fails the same way in both.
func TestDebianKnockdConfOpensAndClosesSSH(t *testing.T) {
	needKnockd(t)
	testtools.NeedCommand(t, "iptables", "iptables")
	conf, err := filepath.Abs(debianConf)
	if err != nil {
		t.Fatal(err)
	}
	rule := "-A INPUT -s " + cli4.String() + "/32 -p tcp -m tcp --dport 22 -j ACCEPT"
	for _, name := range []string{"knockd", "knockbeepd"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			dir := t.TempDir()
			var d *daemon
			var syslog *syncBuffer
			if name == "knockd" {
				d = l.startKnockd(dir, conf, "-i", srvIf)
			} else {
				d, syslog = l.startKnockbeepdWithSyslog(dir, conf, "-i", srvIf)
			}
			rules := func() string { return run(t, "ip", "netns", "exec", l.srv.Name(), "iptables", "-S", "INPUT") }
			hasRule := func() bool { return strings.Contains(rules(), rule) }
			knockWith := func(ports ...string) {
				argv := inNetns(l.cli, append([]string{"knock", srv4.String()}, ports...)...)
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("knock %s: %v\n%s", strings.Join(ports, " "), err, out)
				}
			}

			knockWith("7000", "8000", "9000")
			if !waitUntil(3*time.Second, hasRule) {
				t.Fatalf("%s: after knocking openSSH, iptables -S INPUT lacks %q:\n%s", name, rule, rules())
			}
			knockWith("9000", "8000", "7000")
			if !waitUntil(3*time.Second, func() bool { return !hasRule() }) {
				t.Errorf("%s: after knocking closeSSH, iptables -S INPUT still has %q", name, rule)
			}

			knockWith("12345", "54321", "24680", "13579")
			tried := func() bool {
				out := d.out.String()
				if name == "knockd" {
					return strings.Contains(out, "openHTTPS: running command: /usr/local/sbin/knock_add")
				}
				return strings.Contains(out, "door=openHTTPS") && strings.Contains(out, "exit=127")
			}
			if !waitUntil(3*time.Second, tried) {
				t.Errorf("%s: did not run openHTTPS's command after its knock", name)
			}
			if syslog != nil && !waitUntil(time.Second, func() bool { return strings.Contains(syslog.String(), "door opened") }) {
				t.Errorf("knockbeepd: UseSyslog, but syslog got no \"door opened\" line; it got:\n%s", syslog.String())
			}
		})
	}
}

// startKnockbeepdWithSyslog starts knockbeepd as startKnockbeepd does,
// for a config with UseSyslog. Without a syslog socket on this host
// knockbeepd refuses to start (TestKnockdDifferenceNoSyslogSocket): it
// then runs in a mount namespace of its own whose /run is a directory
// holding a socket this test reads, where Go's log/syslog looks after
// /dev/log (/var/run/log). The returned buffer has what arrived there; it
// is nil when the host's syslog is used.
func (l *lab) startKnockbeepdWithSyslog(dir, conf string, args ...string) (*daemon, *syncBuffer) {
	t := l.t
	t.Helper()
	argv := append([]string{ourBinary(t, "knockbeepd"), "-c", conf, "-D", "--speaker", "none",
		"--state-dir", filepath.Join(dir, "state")}, args...)
	var got *syncBuffer
	if _, err := os.Stat("/dev/log"); err != nil {
		// A short directory name: a socket's path must fit in 108 bytes.
		run, err := os.MkdirTemp("", "kbsys")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(run) })
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(run, "log"), Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		got = new(syncBuffer)
		go func() {
			buf := make([]byte, 8192)
			for {
				n, err := conn.Read(buf)
				if err != nil {
					return
				}
				got.Write(append(buf[:n:n], '\n'))
			}
		}()
		argv = append([]string{"unshare", "--mount", "--propagation", "private",
			"sh", "-c", `mount --bind "$0" /run && exec "$@"`, run}, argv...)
	}
	d := l.start("knockbeepd", dir, inNetns(l.srv, argv...))
	d.waitFor("daemon: capturing", 10*time.Second)
	return d, got
}

// TestKnockdDifferenceNoSyslogSocket: with UseSyslog and no syslog socket
// (a container without a syslog daemon or journald), knockd starts and its
// log goes nowhere; knockbeepd refuses to start and says why. Both run in
// a mount namespace of their own where the syslog socket is hidden, so
// the case runs on hosts that have one too.
func TestKnockdDifferenceNoSyslogSocket(t *testing.T) {
	needKnockd(t)
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux) to hide the syslog socket in a mount namespace: %v", tool, err)
		}
	}
	l := newLab(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "knockd.conf")
	writeFile(t, conf, scenario{name: "syslog", options: "UseSyslog\nInterface = " + srvIf, doors: "[ssh]\nSequence = 7000,8000"}.conf())
	kd := l.start("knockd", mkdir(t, dir, "knockd"), inNetns(l.srv, withoutSyslogSocket(t, dir, "knockd", "-c", conf, "-D", "-v")...))
	kd.waitFor("listening on ", 10*time.Second)
	if !kd.running() {
		t.Errorf("knockd ended (%s); want it running without a syslog socket", kd.exited())
	}
	argv := inNetns(l.srv, withoutSyslogSocket(t, dir, ourBinary(t, "knockbeepd"), "-c", conf, "--speaker", "none", "--state-dir", filepath.Join(dir, "state"))...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "syslog") {
		t.Errorf("knockbeepd without a syslog socket: %v, %q; want it to refuse to start, naming syslog", err, out)
	}
}

// syslogSockets are where glibc's syslog(3) (/dev/log) and Go's log/syslog
// (all three) look for the syslog daemon's socket.
var syslogSockets = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// withoutSyslogSocket is the argv that runs argv in a mount namespace of
// its own in which none of syslogSockets is a socket: an empty file in dir
// is bind-mounted over each that is one (through a symlink such as
// journald's /dev/log, over the socket it points to). The host's sockets
// are untouched; the command fails, saying so, if one is left.
func withoutSyslogSocket(t *testing.T, dir string, argv ...string) []string {
	t.Helper()
	empty := filepath.Join(dir, "no-syslog-socket")
	writeFile(t, empty, "")
	script := `empty=$1; shift
for p in ` + strings.Join(syslogSockets, " ") + `; do
	if [ -S "$p" ]; then mount --bind "$empty" "$p" || exit 1; fi
	if [ -S "$p" ]; then echo "$p is still a syslog socket" >&2; exit 1; fi
done
exec "$@"`
	return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", empty}, argv...)
}
