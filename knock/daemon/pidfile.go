package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// A pidFile holds the daemon's process id while it runs, so that scripts
// can signal it and a second copy refuses to start.
type pidFile struct {
	path string
	pid  int
}

// createPidFile writes this process's id to path. It refuses when the file
// names another process that is alive; a file left by a process that has
// died (a crash, a power loss) is replaced. The second return value tells
// about a stale file that was replaced, for the log.
func createPidFile(path string) (*pidFile, string, error) {
	pid := os.Getpid()
	content := []byte(strconv.Itoa(pid) + "\n")
	var note string
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.Write(content)
			cerr := f.Close()
			if err := errors.Join(werr, cerr); err != nil {
				os.Remove(path)
				return nil, "", fmt.Errorf("daemon: writing the pidfile: %w", err)
			}
			return &pidFile{path: path, pid: pid}, note, nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, "", fmt.Errorf("daemon: creating the pidfile: %w", err)
		}
		old, rerr := readPid(path)
		if rerr == nil && old != pid {
			alive, aerr := processAlive(old)
			if aerr != nil {
				return nil, "", fmt.Errorf("daemon: pidfile %s names process %d: %w", path, old, aerr)
			}
			if alive {
				return nil, "", fmt.Errorf("daemon: pidfile %s: process %d is running: is knockbeepd already started? Stop it, or give another pidfile with -p", path, old)
			}
		}
		switch {
		case rerr != nil:
			note = fmt.Sprintf("replaced a pidfile that holds no process id (%v)", rerr)
		case old == pid:
			note = "replaced a pidfile holding this process's own id"
		default:
			note = fmt.Sprintf("replaced a stale pidfile: process %d is gone", old)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("daemon: removing the stale pidfile: %w", err)
		}
	}
}

// readPid reads the process id a pidfile holds.
func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%q is not a process id", bytes.TrimSpace(data))
	}
	return pid, nil
}

// remove deletes the pidfile if it still holds this process's id: a
// pidfile another process wrote meanwhile is not ours to delete.
func (p *pidFile) remove() error {
	if pid, err := readPid(p.path); err != nil || pid != p.pid {
		return nil
	}
	if err := os.Remove(p.path); err != nil {
		return fmt.Errorf("daemon: removing the pidfile: %w", err)
	}
	return nil
}
