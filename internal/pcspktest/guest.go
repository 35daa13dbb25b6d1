package pcspktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// InitPackage is the guest's /init, built into every initramfs.
const InitPackage = "github.com/knockbeep/knockbeep/internal/pcspktest/guestinit"

// GuestModules are the guest paths of the speaker modules, in the order
// /init loads them.
func GuestModules() []string {
	return []string{"/lib/modules/pcspkr.ko", "/lib/modules/evdev.ko"}
}

// A Guest is what goes into an initramfs besides /init and the modules.
type Guest struct {
	// Programs maps a guest path (e.g. "/bin/beep") to the Go main package
	// built for it, statically (CGO_ENABLED=0) for linux/amd64.
	Programs map[string]string
	// Files maps a guest path to its content, e.g. a song.
	Files    map[string][]byte
	Scenario Scenario
}

// BuildInitramfs has b build the guest's programs and /init, and writes a
// newc initramfs to dest, uncompressed: the guest would spend some 0.1 G
// instructions unpacking a gzipped one, and the host (a test binary built
// with -race) seconds packing it.
func BuildInitramfs(ctx context.Context, m *Machine, b *Builder, g Guest, dest string) error {
	programs := map[string]string{"/init": InitPackage}
	for guestPath, pkg := range g.Programs {
		programs[guestPath] = pkg
	}
	binaries := map[string]string{}
	for guestPath, pkg := range programs {
		out, err := b.Build(ctx, pkg)
		if err != nil {
			return err
		}
		binaries[guestPath] = out
	}
	scenario, err := json.MarshalIndent(g.Scenario, "", "\t")
	if err != nil {
		return fmt.Errorf("pcspktest: encoding the scenario: %w", err)
	}

	files := map[string][]byte{ScenarioPath: scenario}
	modes := map[string]fs.FileMode{}
	for guestPath, data := range g.Files {
		files[guestPath] = data
	}
	for guestPath, host := range binaries {
		data, err := os.ReadFile(host)
		if err != nil {
			return fmt.Errorf("pcspktest: %w", err)
		}
		files[guestPath], modes[guestPath] = data, 0o755
	}
	for i, guestPath := range GuestModules() {
		data, err := os.ReadFile(m.Modules[i])
		if err != nil {
			return fmt.Errorf("pcspktest: reading a speaker module: %w (run Prepare again)", err)
		}
		files[guestPath] = data
	}

	var buf bytes.Buffer
	if err := writeInitramfs(&buf, files, modes); err != nil {
		return err
	}
	if err := os.WriteFile(dest, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("pcspktest: writing the initramfs: %w", err)
	}
	return nil
}

// writeInitramfs lays out the archive: the folders /init mounts on, the
// console the kernel opens for /init, then files, each after its folder.
func writeInitramfs(w io.Writer, files map[string][]byte, modes map[string]fs.FileMode) error {
	cw := NewCPIOWriter(w)
	dirs := map[string]bool{}
	var addDir func(dir string) error
	addDir = func(dir string) error {
		if dir == "." || dirs[dir] {
			return nil
		}
		if err := addDir(path.Dir(dir)); err != nil {
			return err
		}
		dirs[dir] = true
		return cw.Dir(dir, 0o755)
	}
	for _, dir := range []string{"dev", "proc", "sys", "run", "tmp", "bin"} {
		if err := addDir(dir); err != nil {
			return err
		}
	}
	if err := cw.CharDevice("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rel := strings.TrimPrefix(name, "/")
		if err := addDir(path.Dir(rel)); err != nil {
			return err
		}
		mode := modes[name]
		if mode == 0 {
			mode = 0o644
		}
		if err := cw.File(rel, mode, files[name]); err != nil {
			return err
		}
	}
	return cw.Close()
}

// A Builder builds the guest's Go programs, statically (CGO_ENABLED=0) for
// linux/amd64, each package once: the boots of one test run share them.
// It is safe for concurrent use.
type Builder struct {
	dir   string
	mu    sync.Mutex
	built map[string]string // package → binary
}

// NewBuilder keeps the binaries it builds in dir.
func NewBuilder(dir string) *Builder {
	return &Builder{dir: dir, built: map[string]string{}}
}

// BuildAll builds the packages not built yet with one go build, which
// builds them side by side.
func (b *Builder) BuildAll(ctx context.Context, pkgs ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var todo []string
	names := map[string]bool{}
	for _, pkg := range pkgs {
		if _, ok := b.built[pkg]; !ok && !names[path.Base(pkg)] {
			todo = append(todo, pkg)
			names[path.Base(pkg)] = true
		}
	}
	if len(todo) == 0 {
		return nil
	}
	dir := filepath.Join(b.dir, "all-"+strconv.Itoa(len(b.built)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pcspktest: %w", err)
	}
	// With -o naming a folder, go build writes each main package's
	// binary there under the last element of its path.
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + "/"}, todo...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pcspktest: building %s for the guest: %w\n%s", strings.Join(todo, " "), err, output)
	}
	for _, pkg := range todo {
		b.built[pkg] = filepath.Join(dir, path.Base(pkg))
	}
	return nil
}

// Build returns the path of pkg's binary, building it on first use.
func (b *Builder) Build(ctx context.Context, pkg string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if out, ok := b.built[pkg]; ok {
		return out, nil
	}
	out := filepath.Join(b.dir, strconv.Itoa(len(b.built))+"-"+path.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pcspktest: building %s for the guest: %w\n%s", pkg, err, output)
	}
	b.built[pkg] = out
	return out, nil
}
