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
	"strings"
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

// BuildInitramfs builds the guest's programs and /init with the go command
// and writes a gzipped newc initramfs to dest. work is a scratch folder for
// the binaries.
func BuildInitramfs(ctx context.Context, m *Machine, g Guest, work, dest string) error {
	programs := map[string]string{"/init": InitPackage}
	for guestPath, pkg := range g.Programs {
		programs[guestPath] = pkg
	}
	binaries, err := buildStatic(ctx, programs, work)
	if err != nil {
		return err
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
	zw := gzip.NewWriter(&buf)
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

// buildStatic builds each Go main package into work and returns the host
// path of each guest path's binary.
func buildStatic(ctx context.Context, programs map[string]string, work string) (map[string]string, error) {
	built := map[string]string{}
	for guestPath, pkg := range programs {
		out := filepath.Join(work, "bin", strings.ReplaceAll(strings.TrimPrefix(guestPath, "/"), "/", "_"))
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if output, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pcspktest: building %s for the guest's %s: %w\n%s", pkg, guestPath, err, output)
		}
		built[guestPath] = out
	}
	return built, nil
}
