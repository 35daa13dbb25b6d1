package pcspktest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
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
const InitPackage = "github.com/knockbeep/knockbeep/beeper/pcspktest/guestinit"

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
// gzipped newc initramfs to dest.
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
	// Speed over size: the kernel unpacks either in a blink, and the
	// binaries make a large archive to squeeze.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := writeInitramfs(zw, files, modes); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pcspktest: compressing the initramfs: %w", err)
	}
	if err := os.WriteFile(dest, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("pcspktest: writing the initramfs: %w", err)
	}
	return nil
}

// writeInitramfs lays out the archive: the folders /init mounts on, the
// console the kernel opens for /init, then files, each after its folder.
func writeInitramfs(w *gzip.Writer, files map[string][]byte, modes map[string]fs.FileMode) error {
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
