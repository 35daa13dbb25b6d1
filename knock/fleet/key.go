package fleet

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// Key files and trust lists are text, so that an operator can read them,
// copy a public key line from one host to another and comment the lines.
//
//	# knockbeep node key: keep this file secret (mode 0600).
//	# public: ed25519:0Ru6...
//	ed25519-private:Jd9k...
//
// A trust list holds one public key a line, optionally followed by a name:
//
//	# the web fleet
//	ed25519:0Ru6... web1
//	ed25519:Z9fQ... web2
//
// Keys are unpadded URL-safe base64 so that a node's ID (its public key)
// can be used as a NATS subject token and a key-value key as it is.
const (
	privatePrefix = "ed25519-private:"
	publicPrefix  = "ed25519:"
	// maxKeyFile bounds what the parsers read: a key file is three short
	// lines, a trust list a few thousand; a larger file is a mistake
	// (pointed at the wrong file), not a fleet.
	maxKeyFile = 1 << 20
)

var b64 = base64.RawURLEncoding

// A NodeID is a node's Ed25519 public key in the text form of the trust
// list, without the "ed25519:" prefix.
type NodeID string

// ID returns the NodeID of a public key.
func ID(pub ed25519.PublicKey) NodeID { return NodeID(b64.EncodeToString(pub)) }

// PublicLine returns the trust-list line for a public key.
func PublicLine(pub ed25519.PublicKey) string { return publicPrefix + string(ID(pub)) }

// GenerateKeyFile writes a new Ed25519 node key to path with mode 0600 and
// returns its public key. It never overwrites: an existing file is an error,
// because replacing a node's key silently cuts it off from the fleet.
func GenerateKeyFile(path string, random io.Reader) (ed25519.PublicKey, error) {
	if random == nil {
		random = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, fmt.Errorf("fleet: generating a key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("fleet: %s exists: remove it first if you really mean to replace this node's key", path)
		}
		return nil, fmt.Errorf("fleet: creating key file: %w", err)
	}
	text := formatKeyFile(priv)
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("fleet: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("fleet: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("fleet: writing %s: %w", path, err)
	}
	return pub, nil
}

func formatKeyFile(priv ed25519.PrivateKey) string {
	pub := priv.Public().(ed25519.PublicKey)
	return "# knockbeep node key: keep this file secret (mode 0600).\n" +
		"# public: " + PublicLine(pub) + "\n" +
		privatePrefix + b64.EncodeToString(priv.Seed()) + "\n"
}

// ReadKeyFile reads and parses a node key file.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKeyFile parses the text of a node key file: blank lines and lines
// starting with # are ignored, and exactly one "ed25519-private:" line must
// hold a 32-byte seed.
func ParseKeyFile(data []byte) (ed25519.PrivateKey, error) {
	var key ed25519.PrivateKey
	keyLine := 0
	err := eachLine(data, func(n int, line string) error {
		if !strings.HasPrefix(line, privatePrefix) {
			if strings.HasPrefix(line, publicPrefix) {
				return fmt.Errorf("line %d: this is a public key (a trust-list line), not a node key", n)
			}
			return fmt.Errorf("line %d: want %q followed by the key, got %q", n, privatePrefix, clip(line))
		}
		if keyLine != 0 {
			return fmt.Errorf("line %d: a second key (the first is on line %d): a key file holds one", n, keyLine)
		}
		seed, err := b64.DecodeString(strings.TrimPrefix(line, privatePrefix))
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("line %d: the key is not %d bytes of unpadded URL-safe base64", n, ed25519.SeedSize)
		}
		key, keyLine = ed25519.NewKeyFromSeed(seed), n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: key file: %w", err)
	}
	if key == nil {
		return nil, errors.New("fleet: key file: no key in it (generate one with knockbeepd --genkey --ed25519)")
	}
	return key, nil
}

// A Trust is the set of nodes whose messages a node accepts.
type Trust struct {
	names map[NodeID]string
}

// Trusted reports whether id is on the list, and its name there ("" when
// the line had none).
func (t *Trust) Trusted(id NodeID) (name string, ok bool) {
	name, ok = t.names[id]
	return name, ok
}

// IDs returns the nodes on the list, sorted.
func (t *Trust) IDs() []NodeID {
	return slices.Sorted(maps.Keys(t.names))
}

// Len returns the number of keys on the list.
func (t *Trust) Len() int { return len(t.names) }

// ReadTrust reads and parses a trust list file.
func ReadTrust(path string) (*Trust, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseTrust(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTrust parses a trust list: one "ed25519:KEY [name]" a line; blank
// lines and lines starting with # are ignored. A key listed twice is an
// error, since two names for one node make the audit log ambiguous.
func ParseTrust(data []byte) (*Trust, error) {
	t := &Trust{names: map[NodeID]string{}}
	first := map[NodeID]int{}
	err := eachLine(data, func(n int, line string) error {
		keyText, name, _ := strings.Cut(line, " ")
		name = strings.TrimSpace(name)
		if strings.HasPrefix(keyText, privatePrefix) {
			return fmt.Errorf("line %d: a private key does not belong in a trust list: use the key file's \"# public:\" line", n)
		}
		if !strings.HasPrefix(keyText, publicPrefix) {
			return fmt.Errorf("line %d: want %q followed by a public key, got %q", n, publicPrefix, clip(keyText))
		}
		raw, err := b64.DecodeString(strings.TrimPrefix(keyText, publicPrefix))
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return fmt.Errorf("line %d: the key is not %d bytes of unpadded URL-safe base64", n, ed25519.PublicKeySize)
		}
		id := ID(raw)
		if prev, dup := first[id]; dup {
			return fmt.Errorf("line %d: the key of line %d again", n, prev)
		}
		first[id] = n
		t.names[id] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: trust list: %w", err)
	}
	if len(t.names) == 0 {
		return nil, errors.New("fleet: trust list: no keys in it (add each node's \"ed25519:...\" public line)")
	}
	return t, nil
}

// eachLine calls f with the 1-based number and the trimmed text of every
// line that is not blank or a comment.
func eachLine(data []byte, f func(n int, line string) error) error {
	if len(data) > maxKeyFile {
		return fmt.Errorf("%d bytes is too large for this file (at most %d)", len(data), maxKeyFile)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxKeyFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("fleet: reading %s: %w", path, err)
	}
	return data, nil
}

// clip shortens text quoted in an error, so that a binary file pointed at
// by mistake does not fill the terminal.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
