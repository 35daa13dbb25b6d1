package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{name: "a tagged module", info: debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, want: "v1.2.0"},
		{name: "a checkout with its revision", want: "devel (commit 0123abc)",
			info: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}}},
		{name: "a dirty checkout, long revision shortened", want: "devel (commit 0123456789ab, dirty)",
			info: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}}},
		{name: "a checkout without VCS information", info: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "devel"},
		{name: "no main module version", info: debug.BuildInfo{}, want: "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := version(&tt.info); got != tt.want {
				t.Errorf("version() (-want +got):\n-%q\n+%q", tt.want, got)
			}
		})
	}
}

// TestStamp builds a program that prints Version, once stamped with
// -ldflags -X as scripts/package does and once plain, so that a renamed
// variable, which the linker would ignore silently, fails here.
func TestStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("needs the go command to build a program: %v", err)
	}
	dir := t.TempDir()
	// The program sits in testdata, which ./... skips but a path builds.
	src := "./testdata/printversion"
	for _, tt := range []struct {
		name    string
		ldflags string
		want    func(string) bool
	}{
		{"stamped", "-X github.com/knockbeep/knockbeep/internal/buildinfo.stamped=v9.8.7-1-gabc", func(s string) bool { return s == "v9.8.7-1-gabc" }},
		{"plain", "", func(s string) bool { return strings.HasPrefix(s, "devel") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(dir, tt.name)
			out, err := exec.Command(gobin, "build", "-ldflags", tt.ldflags, "-o", bin, src).CombinedOutput()
			if err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err = exec.Command(bin).CombinedOutput()
			got := strings.TrimSpace(string(out))
			if err != nil || !tt.want(got) {
				t.Errorf("%s printed %q (error %v)", tt.name, got, err)
			}
		})
	}
}
