package packagetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// debs are the packages built so far, by version, so that the tests
// build each version once; debDir holds them.
var (
	debsMu sync.Mutex
	debs   = map[string]string{}
	debDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if debDir != "" {
		os.RemoveAll(debDir)
	}
	os.Exit(code)
}

// buildDeb runs scripts/package for version, once per test binary, and
// returns the .deb's path.
func buildDeb(t *testing.T, version string) string {
	t.Helper()
	debsMu.Lock()
	defer debsMu.Unlock()
	if deb, ok := debs[version]; ok {
		return deb
	}
	if debDir == "" {
		dir, err := os.MkdirTemp("", "knockbeep-packagetest-")
		if err != nil {
			t.Fatal(err)
		}
		debDir = dir
	}
	out := filepath.Join(debDir, version)
	cmd := exec.Command(repoPath(t, "scripts/package"), "--version", version, "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/package --version %s: %v\n%s", version, err, stderr.Bytes())
	}
	deb := strings.TrimSpace(string(stdout))
	if want := filepath.Join(out, "knockbeep_"+version+"_"+goarch(t)+".deb"); deb != want {
		t.Fatalf("scripts/package printed %q, want %q", deb, want)
	}
	debs[version] = deb
	return deb
}

func goarch(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatalf("go env GOARCH: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func needDebTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the Debian package (the first build compiles nfpm, minutes): skipped with -short")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "go", "git", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s to build and check the Debian package", tool)
		}
	}
}

// packageFiles are paths the package must install, besides the
// directories that hold them.
var packageFiles = []string{
	"/usr/sbin/knockbeepd",
	"/usr/bin/knock",
	"/usr/bin/beep",
	"/usr/libexec/knockbeep/knockbeep-nats",
	"/lib/systemd/system/knockbeepd.service",
	"/etc/knockbeepd.toml",
	"/usr/share/man/man8/knockbeepd.8.gz",
	"/usr/share/man/man5/knockbeepd.toml.5.gz",
	"/usr/share/man/man1/knock.1.gz",
	"/usr/share/man/man1/beep.1.gz",
	"/usr/share/bash-completion/completions/knock",
	"/usr/share/zsh/vendor-completions/_knockbeepd",
	"/usr/share/fish/vendor_completions.d/beep.fish",
	"/usr/share/doc/knockbeep/copyright",
	"/usr/share/doc/knockbeep/changelog.gz",
}

// TestDebContents checks what the .deb holds: the files above, the config
// as its only conffile, the unit pointing at the packaged binary and
// config, and lintian's verdict (no errors).
func TestDebContents(t *testing.T) {
	needDebTools(t)
	deb := buildDeb(t, "1.0.0")

	out, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v", err)
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		paths = append(paths, strings.TrimPrefix(f[len(f)-1], "."))
	}
	for _, want := range packageFiles {
		if !slices.Contains(paths, want) {
			t.Errorf("the package lacks %s; it holds:\n%s", want, out)
		}
	}

	conffiles, err := exec.Command("dpkg-deb", "--info", deb, "conffiles").Output()
	if err != nil || string(conffiles) != "/etc/knockbeepd.toml\n" {
		t.Errorf("conffiles = %q (%v), want /etc/knockbeepd.toml alone", conffiles, err)
	}

	unit := extract(t, deb, "/lib/systemd/system/knockbeepd.service")
	if !strings.Contains(unit, "\nExecStart=/usr/sbin/knockbeepd -c /etc/knockbeepd.toml\n") || !strings.Contains(unit, "\nDynamicUser=yes\n") {
		t.Errorf("the packaged unit does not run /usr/sbin/knockbeepd -c /etc/knockbeepd.toml as a dynamic user:\n%s", unit)
	}
	if got, want := extract(t, deb, "/etc/knockbeepd.toml"), readRepo(t, "configs/knockbeepd.toml"); got != want {
		t.Errorf("the packaged /etc/knockbeepd.toml differs from configs/knockbeepd.toml")
	}

	lintian, err := exec.LookPath("lintian")
	if err != nil {
		t.Skip("needs lintian to check the package: apt-get install lintian")
	}
	cmd := exec.Command(lintian, "--tag-display-limit", "0", deb)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err = cmd.Run()
	var errorTags []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "E: ") {
			errorTags = append(errorTags, line)
		}
	}
	if len(errorTags) > 0 {
		t.Errorf("lintian reports errors:\n%s", strings.Join(errorTags, "\n"))
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("lintian: %v", err)
	}
	t.Logf("lintian %s:\n%s", filepath.Base(deb), stdout.String())
}

// extract is the content of one file of the .deb.
func extract(t *testing.T, deb, path string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "--extract", deb, dir).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --extract: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readRepo(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A throwawayRoot is this machine's root file system seen through an
// overlay whose upper layer is a temporary directory: dpkg and the
// maintainer scripts run chrooted in it, against the machine's real dpkg
// database and tools, and every change they make lands in the upper layer
// and is thrown away with it. The overlay is mounted afresh, in a mount
// namespace of its own (unshare), for each command, so the host's mounts
// are never touched.
type throwawayRoot struct {
	t                   *testing.T
	upper, work, merged string
}

func newThrowawayRoot(t *testing.T) *throwawayRoot {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts an overlay of / and runs dpkg in a chroot")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux) for a private mount namespace")
	}
	dir := t.TempDir()
	r := &throwawayRoot{t: t, upper: filepath.Join(dir, "upper"), work: filepath.Join(dir, "work"), merged: filepath.Join(dir, "merged")}
	for _, d := range []string{r.upper, r.work, r.merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.run("", "true"); err != nil {
		t.Skipf("cannot mount an overlay of / here (a container without overlayfs?): %v", err)
	}
	return r
}

// run runs argv chrooted in the throw-away root, with stdin from input.
func (r *throwawayRoot) run(input string, argv ...string) (string, error) {
	script := fmt.Sprintf(`set -e
mount -t overlay overlay -o lowerdir=/,upperdir=%[1]s,workdir=%[2]s %[3]s
mount --rbind /dev %[3]s/dev
mount -t proc proc %[3]s/proc
mount -t tmpfs tmpfs %[3]s/run
exec chroot %[3]s "$@"
`, r.upper, r.work, r.merged)
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh"}, argv...)...)
	cmd.Stdin = strings.NewReader(input)
	// A clean environment, as dpkg would get from apt.
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (r *throwawayRoot) must(argv ...string) string {
	r.t.Helper()
	out, err := r.run("", argv...)
	if err != nil {
		r.t.Fatalf("in the throw-away root: %q: %v\n%s", argv, err, out)
	}
	return out
}

// existing reports which of paths exist (a dangling symlink too) in the
// throw-away root, in one chroot.
func (r *throwawayRoot) existing(paths ...string) map[string]bool {
	r.t.Helper()
	out := r.must(append([]string{"sh", "-c", `for p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done`, "sh"}, paths...)...)
	found := map[string]bool{}
	for _, p := range strings.Split(out, "\n") {
		found[p] = p != ""
	}
	return found
}

// install copies deb into the root and installs it with dpkg -i; stdin
// is empty, so a conffile question would fail the install instead of
// hanging.
func (r *throwawayRoot) install(deb string) string {
	r.t.Helper()
	data, err := os.ReadFile(deb)
	if err != nil {
		r.t.Fatal(err)
	}
	name := "/" + filepath.Base(deb)
	if err := os.WriteFile(filepath.Join(r.upper, name), data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	out := r.must("dpkg", "-i", name)
	r.must("rm", name)
	return out
}

// TestDebInstallUpgradePurge installs the package into a throw-away root,
// upgrades it to a higher version with the conffile changed locally, and
// purges it, checking the files, the version the programs print, the
// conffile kept across the upgrade, and that purge leaves nothing: no
// file of the package, no conffile, no state of the dynamic user.
func TestDebInstallUpgradePurge(t *testing.T) {
	needDebTools(t)
	root := newThrowawayRoot(t)
	first, second := buildDeb(t, "1.0.0"), buildDeb(t, "1.0.1")

	// Which of the package's paths exist before it is installed: the
	// directories it shares with other packages (/usr/bin), and the files
	// of the packages it replaces (knockd's /usr/bin/knock). Purge must
	// remove every other one.
	var contents []string
	out, err := exec.Command("dpkg-deb", "--contents", first).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if p := strings.TrimSuffix(strings.TrimPrefix(f[len(f)-1], "."), "/"); p != "" {
			contents = append(contents, p)
		}
	}
	existedBefore := root.existing(contents...)

	t.Logf("dpkg -i %s:\n%s", filepath.Base(first), root.install(first))
	if got := root.must("dpkg-query", "-W", "-f", "${Status} ${Version}", "knockbeep"); got != "install ok installed 1.0.0" {
		t.Fatalf("after dpkg -i: %q, want install ok installed 1.0.0", got)
	}
	found := root.existing(packageFiles...)
	for _, f := range packageFiles {
		if !found[f] {
			t.Errorf("after dpkg -i: %s is missing", f)
		}
	}
	for _, v := range [][]string{
		{"/usr/sbin/knockbeepd", "--version", "knockbeepd (knockbeep) 1.0.0\n"},
		{"/usr/bin/knock", "--version", "knock (knockbeep) 1.0.0\n"},
		{"/usr/bin/beep", "--version", "beep 1.4 (knockbeep 1.0.0)\n"},
		{"/usr/libexec/knockbeep/knockbeep-nats", "--version", "knockbeep-nats (knockbeep) 1.0.0\n"},
	} {
		if out := root.must(v[0], v[1]); !strings.HasPrefix(out, v[2]) {
			t.Errorf("%s %s printed %q, want %q first", v[0], v[1], out, v[2])
		}
	}
	// The daemon finds the fleet's server program where the package put
	// it (its --check looks for it as a start would).
	check := root.must("sh", "-c", `printf '[cluster]\nname = "t"\nnode_key = "/tmp/n.key"\ntrust = "/tmp/t.pub"\nserve = "127.0.0.1:4222"\n' >/tmp/fleet.toml
/usr/sbin/knockbeepd --check -c /tmp/fleet.toml; rm /tmp/fleet.toml`)
	if !strings.Contains(check, "an embedded NATS server on 127.0.0.1:4222") || strings.Contains(check, "knockbeep-nats is not installed") {
		t.Errorf("knockbeepd --check of an embedded fleet node, installed from the package:\n%s", check)
	}

	// What the administrator and the service add: a local change to the
	// conffile, and the state a DynamicUser service leaves (systemd keeps
	// it under /var/lib/private, reached through a symlink).
	// The throw-away root starts as a copy of this machine: whatever a
	// knockbeepd run here left in its state directories is not the
	// package's test, so it goes first (in the copy only).
	root.must("sh", "-c", `rm -rf /var/lib/knockbeep /var/log/knockbeep /var/lib/private/knockbeep /var/log/private/knockbeep
echo '# changed here' >>/etc/knockbeepd.toml
mkdir -p /var/lib/private/knockbeep/pools /var/log/private/knockbeep
echo 'knockbeep pool 1' >/var/lib/private/knockbeep/pools/192.0.2.1.pool
ln -s private/knockbeep /var/lib/knockbeep
ln -s private/knockbeep /var/log/knockbeep`)

	t.Logf("dpkg -i %s:\n%s", filepath.Base(second), root.install(second))
	if got := root.must("dpkg-query", "-W", "-f", "${Status} ${Version}", "knockbeep"); got != "install ok installed 1.0.1" {
		t.Fatalf("after the upgrade: %q, want install ok installed 1.0.1", got)
	}
	if out := root.must("/usr/bin/knock", "--version"); !strings.HasPrefix(out, "knock (knockbeep) 1.0.1\n") {
		t.Errorf("after the upgrade knock --version printed %q", out)
	}
	if conf := root.must("cat", "/etc/knockbeepd.toml"); !strings.HasSuffix(conf, "# changed here\n") {
		t.Errorf("the upgrade did not keep the local change to the conffile /etc/knockbeepd.toml")
	}
	if !root.existing("/var/lib/knockbeep/pools/192.0.2.1.pool")["/var/lib/knockbeep/pools/192.0.2.1.pool"] {
		t.Errorf("the upgrade removed the service's state")
	}

	t.Logf("dpkg -P:\n%s", root.must("dpkg", "-P", "knockbeep"))
	if out, err := root.run("", "dpkg-query", "-W", "-f", "${Status}", "knockbeep"); err == nil && out != "unknown ok not-installed" {
		t.Errorf("after dpkg -P: status %q, want gone", out)
	}
	mustGo := append(contents, "/var/lib/knockbeep", "/var/lib/private/knockbeep", "/var/log/knockbeep", "/var/log/private/knockbeep")
	left := root.existing(mustGo...)
	for _, f := range mustGo {
		if !existedBefore[f] && left[f] {
			t.Errorf("after dpkg -P: %s is still there", f)
		}
	}
}
