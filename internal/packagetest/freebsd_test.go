package packagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFreeBSDPort runs the port skeleton in packaging/freebsd through
// bmake -n, Debian's port of BSD make, with a stand-in for the ports
// framework: an empty sys.mk and a bsd.port.mk that only declares
// post-install. That proves the Makefile is valid BSD make and lets the
// test compare what its post-install and GO_TARGET install with pkg-plist,
// in both directions, and check that every file it installs from the
// source tree exists. It does not prove that the ports framework accepts
// the port (USES=go:modules, the distinfo it needs, the staging checks):
// on FreeBSD, "make makesum stage check-plist" and portlint do that.
func TestFreeBSDPort(t *testing.T) {
	bmake, err := exec.LookPath("bmake")
	if err != nil {
		t.Skip("needs bmake to check the FreeBSD port's Makefile: apt-get install bmake")
	}
	port := repoPath(t, "packaging/freebsd")
	src := repoPath(t, ".")
	mk := t.TempDir()
	if err := os.WriteFile(filepath.Join(mk, "sys.mk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mk, "bsd.port.mk"), []byte("post-install:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const prefix, stage = "/usr/local", "/stage"
	make := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bmake, append([]string{"-m", mk, "-f", "Makefile", "WRKSRC=" + src, "STAGEDIR=" + stage, "PREFIX=" + prefix,
			"INSTALL_SCRIPT=install", "INSTALL_DATA=install", "INSTALL_MAN=install", "MKDIR=mkdir -p"}, args...)...)
		cmd.Dir = port
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bmake %q: %v\n%s", args, err, out)
		}
		return string(out)
	}

	var installed []string
	for _, line := range strings.Split(make("-n", "post-install"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "install" {
			continue
		}
		from, to := f[len(f)-2], f[len(f)-1]
		if _, err := os.Stat(from); err != nil {
			t.Errorf("post-install installs %s, which the source tree lacks", from)
		}
		rel, ok := strings.CutPrefix(to, stage+prefix+"/")
		if !ok {
			t.Errorf("post-install installs outside ${STAGEDIR}${PREFIX}: %s", to)
			continue
		}
		if strings.HasPrefix(rel, "share/man/") {
			rel += ".gz" // the framework compresses man pages when staging
		}
		installed = append(installed, rel)
	}
	for _, target := range strings.Fields(make("-V", "${GO_TARGET}")) {
		pkg, to, ok := strings.Cut(target, ":")
		if _, err := os.Stat(filepath.Join(src, pkg, "main.go")); err != nil {
			t.Errorf("GO_TARGET builds %s, which is not a program: %v", pkg, err)
		}
		rel, found := strings.CutPrefix(to, prefix+"/")
		if !ok || !found {
			t.Errorf("GO_TARGET %q does not install under ${PREFIX}", target)
			continue
		}
		installed = append(installed, rel)
	}

	plist, err := os.ReadFile(filepath.Join(port, "pkg-plist"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(string(plist)), "\n") {
		listed = append(listed, strings.TrimPrefix(line, "@sample "))
	}
	for _, f := range installed {
		if !slices.Contains(listed, f) {
			t.Errorf("the port installs %s, which pkg-plist lacks", f)
		}
	}
	for _, f := range listed {
		if !slices.Contains(installed, f) {
			t.Errorf("pkg-plist lists %s, which the port does not install", f)
		}
	}
	for _, page := range manPages {
		want := "share/man/man" + page.file[len(page.file)-1:] + "/" + filepath.Base(page.file) + ".gz"
		if !slices.Contains(listed, want) {
			t.Errorf("the port does not install the man page %s as %s", page.file, want)
		}
	}
}
