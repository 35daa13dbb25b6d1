package packagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageVersion runs scripts/package --print-version in a scratch git
// repository through the states a checkout goes through: no tag, a tag,
// commits after it, uncommitted changes. It prints the Debian version and
// the programs' --version stamp.
func TestPackageVersion(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("needs git")
	}
	dir := t.TempDir()
	script, err := os.ReadFile(repoPath(t, "scripts/package"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "package"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(msg string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "file"), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		run(git, "add", ".")
		run(git, "commit", "-q", "-m", msg)
		return run(git, "rev-parse", "--short", "HEAD")
	}
	run(git, "init", "-q")

	c1 := commit("one")
	steps := []struct {
		name string
		do   func() (want string)
	}{
		{"no tag", func() string { return "0.0.0+g" + c1 + " 0.0.0+g" + c1 }},
		{"no tag, dirty", func() string {
			os.WriteFile(filepath.Join(dir, "file"), []byte("changed"), 0o644)
			return "0.0.0+g" + c1 + ".dirty 0.0.0+g" + c1 + "-dirty"
		}},
		{"at a tag", func() string {
			run(git, "checkout", "-q", "--", "file")
			run(git, "tag", "-a", "-m", "v0.2.0", "v0.2.0")
			return "0.2.0 v0.2.0"
		}},
		{"two commits after the tag", func() string {
			commit("two")
			c3 := commit("three")
			return "0.2.0+2.g" + c3 + " v0.2.0-2-g" + c3
		}},
		{"a tag that is not a version is ignored", func() string {
			run(git, "tag", "release-candidate")
			c4 := commit("four")
			return "0.2.0+3.g" + c4 + " v0.2.0-3-g" + c4
		}},
	}
	for _, s := range steps {
		want := s.do()
		if got := run(filepath.Join(dir, "scripts", "package"), "--print-version"); got != want {
			t.Errorf("%s: scripts/package --print-version = %q, want %q", s.name, got, want)
		}
	}
	if got := run(filepath.Join(dir, "scripts", "package"), "--version", "1.2.3", "--print-version"); got != "1.2.3 1.2.3" {
		t.Errorf("--version 1.2.3: %q", got)
	}
	// A hyphen would make a non-native version, which needs a source
	// package and a Debian revision: refused.
	cmd := exec.Command(filepath.Join(dir, "scripts", "package"), "--version", "1.2-3", "--print-version")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not a Debian native version") {
		t.Errorf("--version 1.2-3: %v, %s; want refused", err, out)
	}
}
