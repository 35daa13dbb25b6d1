package music

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

// File name extensions of pools and of the WAV files of songs.
const (
	poolExt = ".pool"
	wavExt  = ".wav"
)

// addrFileName is addr as a file name stem: its text with ':' made '-',
// which no address contains, so the name reads back with parseAddrFileName
// and holds no character that file tools or scp treat specially.
// "2001:db8::1" is "2001-db8--1".
func addrFileName(addr netip.Addr) string {
	return strings.ReplaceAll(addr.WithZone("").String(), ":", "-")
}

func parseAddrFileName(stem string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(strings.ReplaceAll(stem, "-", ":"))
	if err != nil || addr.Zone() != "" || addrFileName(addr) != stem {
		return netip.Addr{}, fmt.Errorf("%q is not an address written by addrFileName", stem)
	}
	return addr, nil
}

// poolPath is where the pool of the source with sources key addr lives.
func (m *Music) poolPath(key netip.Addr) string {
	if m.shared {
		return m.sharedAt
	}
	return filepath.Join(m.poolDir, addrFileName(key)+poolExt)
}

// createPool opens the pool of the source with sources key key, creating
// its file when there is none. The file is created here with its header
// alone and no fsync: an fsync of the file and of its directory stalls the
// packet path (200 ms seen on a busy disk), so the periodic sync fsyncs the
// file and then its directory (pool.created) with the rest.
func (m *Music) createPool(key netip.Addr) (*pool, []string, error) {
	path := m.poolPath(key)
	created, err := createPoolFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("music: creating pool %s: %w", path, err)
	}
	f, warnings, err := openPoolFile(path, m.maxPoolSteps)
	if err != nil {
		return nil, warnings, err
	}
	p := &pool{poolFile: f}
	p.created.Store(created)
	return p, warnings, nil
}

// createPoolFile creates a pool file holding the header line, unless a
// file is there already (false).
func createPoolFile(path string) (created bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(sequence.PoolHeader + "\n")
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}

// loadPools opens the pools a previous run left: the shared pool in shared
// mode, every pools/ADDR.pool otherwise. Pools beyond MaxPools are loaded
// all the same (they were accepted once), with a warning.
func (m *Music) loadPools() error {
	if m.shared {
		if _, err := os.Lstat(m.sharedAt); err == nil {
			m.loadPool(netip.Addr{}, m.sharedAt)
		}
		return nil
	}
	entries, err := os.ReadDir(m.poolDir)
	if err != nil {
		return fmt.Errorf("music: reading the pools: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, poolExt) {
			continue
		}
		path := filepath.Join(m.poolDir, name)
		addr, err := parseAddrFileName(strings.TrimSuffix(name, poolExt))
		if err != nil {
			m.log.Warn("music: ignoring a pool whose name is not a source address", "path", path)
			continue
		}
		m.loadPool(addr, path)
	}
	m.pools.Store(int64(len(m.sources)))
	if len(m.sources) > m.maxPools {
		m.log.Warn("music: more pools stored than max_pools allows; all were loaded, new sources are refused until some are played or forgotten after pool_idle_timeout",
			"pools", len(m.sources), "max_pools", m.maxPools)
	}
	return nil
}

func (m *Music) loadPool(key netip.Addr, path string) {
	p, warnings, err := openPoolFile(path, m.maxPoolSteps)
	for _, w := range warnings {
		m.log.Warn("music: pool: "+w, "path", path)
	}
	if err != nil {
		aside := path + ".unreadable"
		if rerr := os.Rename(path, aside); rerr != nil {
			m.log.Error("music: pool unreadable and could not be moved aside; its source's knocks will be refused until it is removed",
				"path", path, "err", err, "rename_err", rerr)
			return
		}
		m.log.Error("music: pool unreadable, moved aside; its source starts a new pool", "path", path, "moved_to", aside, "err", err)
		return
	}
	// The file's mtime is its last step: a pool left idle before a
	// restart is forgotten as if the daemon had run on.
	touched := m.clock.Now()
	if fi, err := os.Stat(path); err == nil {
		touched = fi.ModTime()
	}
	m.sources[key] = &source{addr: key, pool: &pool{poolFile: p}, touched: touched}
	m.log.Info("music: pool loaded", "path", path, "steps", p.Len())
}

// archive moves the pool file at path to played/TIME_SOURCE.pool (TIME in
// UTC to the millisecond, "-2", "-3"... added if that exists) and returns
// the new path and its name without ".pool". The pool's open file follows
// the rename; Run fsyncs it and both directories before playing.
// freeName is a name for a song of src's made at now that no pool or WAV
// under played/ has yet, for a song without a pool.
func (m *Music) freeName(now time.Time, src netip.Addr) (string, error) {
	stem := now.UTC().Format(archiveTimeLayout) + "_" + addrFileName(src)
	for i := 1; i <= 1000; i++ {
		name := stem
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		_, errPool := os.Lstat(filepath.Join(m.playedDir, name+poolExt))
		_, errWAV := os.Lstat(filepath.Join(m.playedDir, name+wavExt))
		if errors.Is(errPool, fs.ErrNotExist) && errors.Is(errWAV, fs.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("music: 1000 songs named %s-N exist already in %s", stem, m.playedDir)
}

func (m *Music) archive(now time.Time, src netip.Addr, path string) (archive, name string, err error) {
	stem := now.UTC().Format(archiveTimeLayout) + "_" + addrFileName(src)
	for i := 1; i <= 1000; i++ {
		name = stem
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		archive = filepath.Join(m.playedDir, name+poolExt)
		if _, err := os.Lstat(archive); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(path, archive); err != nil {
				return "", "", fmt.Errorf("music: archiving the pool: %w", err)
			}
			return archive, name, nil
		}
	}
	return "", "", fmt.Errorf("music: archiving the pool: 1000 files named %s-N%s exist already in %s", stem, poolExt, m.playedDir)
}
