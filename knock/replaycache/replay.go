package replaycache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The file: a header, then records.
const (
	header     = "KBREPLAY1\n"
	recordSize = 16 + 8 + 4 // id, expiry (Unix seconds, big-endian), CRC-32C of both
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DefaultMax bounds the live entries: each rotating door adds at most a
// few per period without bind_source, and one per source and period with
// it; 65536 entries is 1.8 MiB of file.
const DefaultMax = 65536

// ErrFull refuses an Add when the cache holds Max live entries.
var ErrFull = errors.New("replay cache full")

// Options tune a Cache.
type Options struct {
	Max int              // live entries at most; 0 means DefaultMax
	Now func() time.Time // the clock expiry is judged by; nil means time.Now
}

// A Cache is the replay cache in one file. One goroutine uses it.
type Cache struct {
	path    string
	f       *os.File
	opts    Options
	live    map[[16]byte]int64 // id → expiry, Unix seconds
	records int                // records in the file
	checkAt int                // records at which Add next looks for expired ones
}

// Open opens the cache at path, creating it (mode 0600) if absent. It drops
// torn and expired records, rewriting the file when there were any, and
// returns a note for each kind of damage it repaired.
func Open(path string, opts Options) (*Cache, []string, error) {
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{path: path, opts: opts, live: map[[16]byte]int64{}}
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	notes, err := c.load(data)
	if err != nil {
		return nil, nil, fmt.Errorf("replay cache %s: %w", path, err)
	}
	// Always start from a rewritten file: it drops what load dropped, and
	// leaves the file ending on a whole record for the appends to come.
	if err := c.compact(); err != nil {
		return nil, nil, err
	}
	return c, notes, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay cache: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("replay cache: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("replay cache %s: not a regular file", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("replay cache %s: %w", path, err)
	}
	return data, nil
}

// load reads the file's records into c.live, keeping the unexpired ones.
func (c *Cache) load(data []byte) (notes []string, err error) {
	if len(data) < len(header) {
		if !bytes.HasPrefix([]byte(header), data) {
			return nil, errors.New("not a replay cache (bad header): move it away; the daemon makes a new one")
		}
		if len(data) > 0 {
			notes = append(notes, "a torn header (a crash while the file was made) was dropped")
		}
		return notes, nil
	}
	if string(data[:len(header)]) != header {
		return nil, errors.New("not a replay cache (bad header): move it away; the daemon makes a new one")
	}
	data = data[len(header):]
	now := c.opts.Now().Unix()
	bad := 0
	for ; len(data) >= recordSize; data = data[recordSize:] {
		id, exp, ok := decode(data[:recordSize])
		if !ok {
			bad++
			continue
		}
		if exp > now && exp > c.live[id] {
			c.live[id] = exp
		}
	}
	if bad > 0 {
		notes = append(notes, fmt.Sprintf("%d damaged records were dropped", bad))
	}
	if len(data) > 0 {
		notes = append(notes, "a torn last record (a crash while it was written) was dropped")
	}
	return notes, nil
}

func encode(id [16]byte, exp int64) []byte {
	b := make([]byte, 0, recordSize)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decode(b []byte) (id [16]byte, exp int64, ok bool) {
	if crc32.Checksum(b[:24], castagnoli) != binary.BigEndian.Uint32(b[24:]) {
		return id, 0, false
	}
	copy(id[:], b)
	return id, int64(binary.BigEndian.Uint64(b[16:])), true
}

// Seen reports whether id is recorded and not expired.
func (c *Cache) Seen(id [16]byte) bool {
	exp, ok := c.live[id]
	return ok && exp > c.opts.Now().Unix()
}

// Len is the number of entries held (some may have expired since the last
// compaction).
func (c *Cache) Len() int { return len(c.live) }

// Add records id until expires, on disk (synced) before it returns. It
// reports false, writing nothing, when id is already recorded; it refuses
// with ErrFull when Max unexpired entries are held.
func (c *Cache) Add(id [16]byte, expires time.Time) (bool, error) {
	if c.f == nil {
		return false, errors.New("replay cache: closed")
	}
	if c.Seen(id) {
		return false, nil
	}
	if len(c.live) >= c.opts.Max {
		c.purge()
		if len(c.live) >= c.opts.Max {
			return false, fmt.Errorf("%w (%d entries until they expire): a flood of valid knocks, or raise the bound", ErrFull, c.opts.Max)
		}
	}
	// Whole seconds, rounded up: an entry must not expire before its
	// sequence does.
	exp := expires.Unix()
	if expires.After(time.Unix(exp, 0)) {
		exp++
	}
	if _, err := c.f.Write(encode(id, exp)); err != nil {
		return false, fmt.Errorf("replay cache %s: %w", c.path, err)
	}
	if err := c.f.Sync(); err != nil {
		return false, fmt.Errorf("replay cache %s: %w", c.path, err)
	}
	c.live[id] = exp
	c.records++
	if c.records >= c.checkAt {
		// Now and then (not on every Add: purge walks every entry),
		// forget what expired, and rewrite the file when the dead
		// records outnumber the live ones.
		c.purge()
		if c.records > 2*len(c.live)+64 {
			if err := c.compact(); err != nil {
				return true, err // the record itself is on disk
			}
		}
		c.checkAt = c.records + len(c.live) + 64
	}
	return true, nil
}

// purge forgets the expired entries.
func (c *Cache) purge() {
	now := c.opts.Now().Unix()
	for id, exp := range c.live {
		if exp <= now {
			delete(c.live, id)
		}
	}
}

// compact rewrites the file with the live entries only and reopens it for
// appending.
func (c *Cache) compact() error {
	c.purge()
	buf := make([]byte, 0, len(header)+recordSize*len(c.live))
	buf = append(buf, header...)
	for id, exp := range c.live {
		buf = append(buf, encode(id, exp)...)
	}
	tmp := c.path + ".new"
	if err := writeSynced(tmp, buf); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replay cache: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replay cache: %w", err)
	}
	if d, err := os.Open(filepath.Dir(c.path)); err == nil {
		d.Sync() // the rename is durable once the directory is synced
		d.Close()
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("replay cache: %w", err)
	}
	if c.f != nil {
		c.f.Close()
	}
	c.f = f
	c.records = len(c.live)
	c.checkAt = c.records + len(c.live) + 64
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	return errors.Join(werr, serr, f.Close())
}

// Close closes the file. Every Add is already on disk.
func (c *Cache) Close() error {
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}
