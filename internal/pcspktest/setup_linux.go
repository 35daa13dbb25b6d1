package pcspktest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// The tools Prepare installs with apt-get when they are missing, and the
// Debian packages that hold them.
var hostTools = []struct{ command, pkg string }{
	{"qemu-system-x86_64", "qemu-system-x86"},
	{"cpio", "cpio"},
}

// The files Prepare keeps from the kernel package, by their name in the cache.
const (
	cachedKernel = "vmlinuz"
	cachedPCSpkr = "pcspkr.ko"
	cachedEvdev  = "evdev.ko"
)

// Prepare makes sure qemu is installed (apt-get install, as root) and that a
// Debian guest kernel with its speaker modules is in CacheDir (apt-get
// download + dpkg -x of the package linux-image-amd64 depends on). A second
// call finds everything in place and downloads nothing. Errors wrapping
// ErrUnavailable mean this host cannot have them.
func Prepare(ctx context.Context, logf Logf) (*Machine, error) {
	if err := installTools(ctx, logf); err != nil {
		return nil, err
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, fmt.Errorf("%w: qemu-system-x86_64 not found after installing it: %v", ErrUnavailable, err)
	}
	dir, pkg, err := guestKernel(ctx, CacheDir(), logf)
	if err != nil {
		return nil, err
	}
	return &Machine{
		Priority:      qemuPriority(ctx, logf),
		QEMU:          qemu,
		Kernel:        filepath.Join(dir, cachedKernel),
		KernelPackage: pkg,
		Modules:       []string{filepath.Join(dir, cachedPCSpkr), filepath.Join(dir, cachedEvdev)},
	}, nil
}

// qemuPriority picks the strongest way to run qemu ahead of the host's
// other work that this host allows, to keep a boot's wall time short on a
// busy host: the lowest real-time priority (qemu has one vCPU thread, so
// it keeps at most one core busy, and the kernel's real-time throttling
// keeps 5 % of every second for everything else), else the highest nice
// priority, else none. Both need root or CAP_SYS_NICE.
func qemuPriority(ctx context.Context, logf Logf) []string {
	realtime := []string{"chrt", "--rr", "1"}
	if _, err := runTool(ctx, "", realtime[0], append(realtime[1:], "true")...); err == nil {
		return realtime
	}
	// nice only warns when it may not raise the priority, so ask the
	// command it runs what it got.
	nice := []string{"nice", "-n", "-19"}
	if out, err := runTool(ctx, "", nice[0], append(nice[1:], "nice")...); err == nil && strings.TrimSpace(string(out)) == "-19" {
		return nice
	}
	logf("pcspktest: cannot raise qemu's priority (needs root or CAP_SYS_NICE); on a busy host the boots take longer")
	return nil
}

// killWithParent has the kernel kill qemu when the test process dies:
// a qemu running ahead of everything else must not be left behind.
func killWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// installTools installs the packages of the missing hostTools in one
// apt-get run, updating the package lists once if the first try fails.
func installTools(ctx context.Context, logf Logf) error {
	var missing []string
	for _, tool := range hostTools {
		if _, err := exec.LookPath(tool.command); err != nil {
			missing = append(missing, tool.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: %s missing and installing needs root (run as root, or apt-get install %s)",
			ErrUnavailable, strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	logf("pcspktest: installing %s with apt-get", strings.Join(missing, " "))
	install := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
	if _, err := runTool(ctx, "", "apt-get", install...); err == nil {
		return nil
	}
	logf("pcspktest: apt-get install failed, updating the package lists and trying again")
	if _, err := runTool(ctx, "", "apt-get", "update"); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if _, err := runTool(ctx, "", "apt-get", install...); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// guestKernel returns the cache folder holding vmlinuz and the two modules of
// the kernel package linux-image-amd64 depends on, fetching it on a miss.
// Without apt-cache it settles for whatever kernel is already cached.
func guestKernel(ctx context.Context, cache string, logf Logf) (dir, pkg string, err error) {
	pkg, err = kernelPackage(ctx)
	if err != nil {
		if dir, pkg, ok := anyCachedKernel(cache); ok {
			logf("pcspktest: %v; using the cached %s", err, pkg)
			return dir, pkg, nil
		}
		return "", "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	dir = filepath.Join(cache, pkg)
	if kernelComplete(dir) {
		return dir, pkg, nil
	}
	logf("pcspktest: fetching %s into %s", pkg, cache)
	if err := fetchKernel(ctx, cache, pkg); err != nil {
		return "", "", err
	}
	return dir, pkg, nil
}

// kernelPackage asks apt-cache (no network) which versioned kernel package
// the metapackage linux-image-amd64 currently depends on.
func kernelPackage(ctx context.Context) (string, error) {
	out, err := runTool(ctx, "", "apt-cache", "depends", "linux-image-amd64")
	if err != nil {
		return "", err
	}
	return parseKernelDepends(out)
}

// parseKernelDepends picks the first "Depends: linux-image-..." line of
// apt-cache depends output.
func parseKernelDepends(out []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Depends: ")
		if ok && strings.HasPrefix(name, "linux-image-") && !strings.ContainsAny(name, "<>/ ") {
			return name, nil
		}
	}
	return "", errors.New("pcspktest: apt-cache depends linux-image-amd64 names no linux-image package (is the package list empty? try apt-get update)")
}

func kernelComplete(dir string) bool {
	for _, name := range []string{cachedKernel, cachedPCSpkr, cachedEvdev} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// anyCachedKernel picks the newest-named complete kernel in the cache.
func anyCachedKernel(cache string) (dir, pkg string, ok bool) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return "", "", false
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "linux-image-") && kernelComplete(filepath.Join(cache, e.Name())) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", "", false
	}
	sort.Strings(names)
	pkg = names[len(names)-1]
	return filepath.Join(cache, pkg), pkg, true
}

// fetchKernel downloads pkg's .deb, unpacks it in a scratch folder, keeps the
// three files it needs and renames them into place, so that an interrupted
// fetch never leaves a half-filled cache entry behind.
func fetchKernel(ctx context.Context, cache, pkg string) error {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("pcspktest: creating the kernel cache: %w (set %s to a writable folder)", err, CacheEnv)
	}
	scratch, err := os.MkdirTemp(cache, "fetch-")
	if err != nil {
		return fmt.Errorf("pcspktest: creating a scratch folder in the kernel cache: %w", err)
	}
	defer os.RemoveAll(scratch)

	if _, err := runTool(ctx, scratch, "apt-get", "download", pkg); err != nil {
		if os.Geteuid() != 0 {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if _, err := runTool(ctx, "", "apt-get", "update"); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if _, err := runTool(ctx, scratch, "apt-get", "download", pkg); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(scratch, pkg+"_*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("pcspktest: apt-get download %s left %d .deb files in %s, want 1", pkg, len(debs), scratch)
	}
	tree := filepath.Join(scratch, "tree")
	if _, err := runTool(ctx, "", "dpkg", "-x", debs[0], tree); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	wanted := map[string]string{
		cachedKernel: filepath.Join(tree, "boot", "vmlinuz-*"),
		cachedPCSpkr: filepath.Join(tree, "lib", "modules", "*", "kernel", "drivers", "input", "misc", "pcspkr.ko"),
		cachedEvdev:  filepath.Join(tree, "lib", "modules", "*", "kernel", "drivers", "input", "evdev.ko"),
	}
	staging := filepath.Join(scratch, "keep")
	if err := os.Mkdir(staging, 0o755); err != nil {
		return fmt.Errorf("pcspktest: %w", err)
	}
	for name, pattern := range wanted {
		found, _ := filepath.Glob(pattern)
		if len(found) != 1 {
			return fmt.Errorf("pcspktest: %s: want exactly one %s in the package, found %d (is the module built in or compressed in this kernel?)",
				pkg, strings.TrimPrefix(pattern, tree), len(found))
		}
		if err := copyFile(found[0], filepath.Join(staging, name)); err != nil {
			return err
		}
	}
	final := filepath.Join(cache, pkg)
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("pcspktest: clearing a stale cache entry: %w", err)
	}
	if err := os.Rename(staging, final); err != nil {
		return fmt.Errorf("pcspktest: moving the kernel into the cache: %w", err)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("pcspktest: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("pcspktest: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("pcspktest: copying %s: %w", from, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("pcspktest: %w", err)
	}
	return nil
}

// runTool runs a host tool and returns its standard output; a failure names
// the command and carries its standard error.
func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("pcspktest: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(lastLines(stderr.String(), 5)))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
