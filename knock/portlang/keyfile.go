package portlang

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Key sizes: a key file holds 16 to 64 bytes; GenerateKey makes 32, the
// size of HMAC-SHA256's output, beyond which a longer key adds nothing.
const (
	MinKeyBytes = 16
	MaxKeyBytes = 64
	KeyBytes    = 32
)

// maxKeyFile bounds what is read of a key file: a key is one short line.
const maxKeyFile = 4096

// ParseKey reads a key file's content: lines starting with '#' and blank
// lines are skipped; the one other line is the key in hexadecimal (32 to
// 128 digits, either case), surrounding spaces ignored.
func ParseKey(data []byte) ([]byte, error) {
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes: a key file holds one line", maxKeyFile)
	}
	var key []byte
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if key != nil {
			return nil, fmt.Errorf("line %d: a second key line: a key file holds one key", n+1)
		}
		k, err := hex.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not hexadecimal: write the key as %d hex digits (knockbeepd --genkey FILE makes one)", n+1, 2*KeyBytes)
		}
		if len(k) < MinKeyBytes || len(k) > MaxKeyBytes {
			return nil, fmt.Errorf("line %d: a key of %d bytes: want %d to %d", n+1, len(k), MinKeyBytes, MaxKeyBytes)
		}
		key = k
	}
	if key == nil {
		return nil, errors.New("no key in the file: knockbeepd --genkey FILE makes one")
	}
	return key, nil
}

// ReadKeyFile reads the key in path, refusing a file that group or others
// may read or write (as ssh refuses a private key): a key others can read
// is no secret.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s: mode %04o lets group or others read or change it: chmod 600 %s (and make a new key if others may have read it)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	key, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// GenerateKey returns a new random key of KeyBytes bytes.
func GenerateKey() []byte {
	key := make([]byte, KeyBytes)
	rand.Read(key) // never fails (crypto/rand)
	return key
}

// WriteKeyFile writes a new random key to path, mode 0600. It refuses to
// overwrite anything: replacing a key locks out every client that has it.
func WriteKeyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("key file %s exists: not overwritten (remove it first if you mean to replace the key)", path)
		}
		return fmt.Errorf("key file: %w", err)
	}
	text := "# knockbeep key: keep it secret; the door and its clients share it\n" + hex.EncodeToString(GenerateKey()) + "\n"
	_, werr := f.WriteString(text)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return nil
}

// MaxUserKeys bounds the keys of a directory of users' keys: each user's
// key adds a sequence per period the daemon must know.
const MaxUserKeys = 256

// A NamedKey is one user's key of a key directory.
type NamedKey struct {
	Name string // the file's name without ".key": the user, in logs and audit records
	Key  []byte
}

// ReadKeyDir reads a directory of users' keys: every file whose name ends
// in ".key" (others, such as a README, are not keys), each as ReadKeyFile
// reads one, sorted by name. A user is added by adding a file and removed
// by removing it; an empty directory is an error, since its door could
// never open.
func ReadKeyDir(dir string) ([]NamedKey, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	var keys []NamedKey
	for _, e := range entries { // ReadDir sorts by name
		name, ok := strings.CutSuffix(e.Name(), ".key")
		if !ok || name == "" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if len(keys) == MaxUserKeys {
			return nil, fmt.Errorf("key directory %s: more than %d keys", dir, MaxUserKeys)
		}
		key, err := ReadKeyFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		keys = append(keys, NamedKey{Name: name, Key: key})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key directory %s holds no NAME.key file: add one per user (knockbeepd --genkey %s)", dir, filepath.Join(dir, "NAME.key"))
	}
	return keys, nil
}
