package fleet

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixed keys for the tables: seeds of all 1s and all 2s.
var (
	seed1    = strings.Repeat("\x01", 32)
	key1     = ed25519.NewKeyFromSeed([]byte(seed1))
	key2     = ed25519.NewKeyFromSeed([]byte(strings.Repeat("\x02", 32)))
	pub1Line = PublicLine(key1.Public().(ed25519.PublicKey))
	pub2Line = PublicLine(key2.Public().(ed25519.PublicKey))
	priv1    = privatePrefix + b64.EncodeToString([]byte(seed1))
)

var keyFileTests = []struct {
	name    string
	text    string
	wantErr string
}{
	{name: "generated form", text: formatKeyFile(key1)},
	{name: "bare line", text: priv1},
	{name: "comments and blanks", text: "\n# mine\n  " + priv1 + "  \n\n"},
	{name: "empty", text: "", wantErr: "no key in it"},
	{name: "only comments", text: "# nothing\n", wantErr: "no key in it"},
	{name: "public key", text: pub1Line, wantErr: "line 1: this is a public key"},
	{name: "two keys", text: priv1 + "\n" + priv1, wantErr: "line 2: a second key (the first is on line 1)"},
	{name: "short key", text: privatePrefix + "AAAA", wantErr: "line 1: the key is not 32 bytes"},
	{name: "padded base64", text: priv1 + "=", wantErr: "line 1: the key is not 32 bytes"},
	{name: "garbage", text: "# c\n\x00\xff", wantErr: "line 2: want \"ed25519-private:\""},
}

func TestParseKeyFile(t *testing.T) {
	for _, tt := range keyFileTests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyFile([]byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !k.Equal(key1) {
				t.Fatal("parsed a different key")
			}
		})
	}
}

func FuzzParseKeyFile(f *testing.F) {
	for _, tt := range keyFileTests {
		f.Add([]byte(tt.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		// A key that parses round-trips through the generated form.
		k2, err := ParseKeyFile([]byte(formatKeyFile(k)))
		if err != nil || !k2.Equal(k) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestGenerateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	pub, err := GenerateKeyFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.Public()) {
		t.Error("the file holds another key than the one returned")
	}
	before, _ := os.ReadFile(path)
	if _, err := GenerateKeyFile(path, nil); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second GenerateKeyFile: %v, want an error saying the file exists", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("the key file was overwritten")
	}
}

var trustTests = []struct {
	name    string
	text    string
	want    map[string]string // public line → name
	wantErr string
}{
	{name: "two named", text: "# fleet\n" + pub1Line + " web1\n" + pub2Line + "  web 2 \n",
		want: map[string]string{pub1Line: "web1", pub2Line: "web 2"}},
	{name: "unnamed", text: pub1Line, want: map[string]string{pub1Line: ""}},
	{name: "empty", text: "\n# none\n", wantErr: "no keys in it"},
	{name: "duplicate", text: pub1Line + "\n\n" + pub1Line + " again", wantErr: "line 3: the key of line 1 again"},
	{name: "private key", text: priv1, wantErr: "line 1: a private key does not belong"},
	{name: "bad key", text: pub1Line + "\nssh-ed25519 AAAA", wantErr: "line 2: want \"ed25519:\""},
	{name: "short", text: "ed25519:AAAA", wantErr: "line 1: the key is not 32 bytes"},
}

func TestParseTrust(t *testing.T) {
	for _, tt := range trustTests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseTrust([]byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Len() != len(tt.want) {
				t.Fatalf("%d keys, want %d", tr.Len(), len(tt.want))
			}
			for line, name := range tt.want {
				got, ok := tr.Trusted(NodeID(strings.TrimPrefix(line, publicPrefix)))
				if !ok || got != name {
					t.Errorf("%s: (%q, %v), want (%q, true)", line, got, ok, name)
				}
			}
		})
	}
}

func FuzzParseTrust(f *testing.F) {
	for _, tt := range trustTests {
		f.Add([]byte(tt.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrust(data)
		if err != nil {
			return
		}
		// Every trusted ID is a real public key, and the list is not empty.
		if tr.Len() == 0 {
			t.Fatal("a trust list without keys parsed")
		}
		for id := range tr.names {
			raw, err := b64.DecodeString(string(id))
			if err != nil || len(raw) != ed25519.PublicKeySize {
				t.Fatalf("trusted %q is not a public key", id)
			}
		}
	})
}

// ReadIdentity names every problem at once: a missing key and a missing
// trust list, or a key that is not on the list (with the line to add).
func TestReadIdentity(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{NodeKey: filepath.Join(dir, "node.key"), Trust: filepath.Join(dir, "fleet.pub")}
	_, _, err := ReadIdentity(cfg)
	if err == nil || !strings.Contains(err.Error(), "node_key: ") || !strings.Contains(err.Error(), "--genkey --ed25519") || !strings.Contains(err.Error(), "trust: ") {
		t.Errorf("no key, no trust list: %v; want both named", err)
	}
	pub, err := GenerateKeyFile(cfg.NodeKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKeyFile(filepath.Join(dir, "other.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Trust, []byte(PublicLine(other)+" other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadIdentity(cfg); err == nil || !strings.Contains(err.Error(), "not on the trust list") || !strings.Contains(err.Error(), PublicLine(pub)) {
		t.Errorf("a key not on the list: %v; want it named with its line", err)
	}
	if err := os.WriteFile(cfg.Trust, []byte(PublicLine(pub)+" me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if key, trust, err := ReadIdentity(cfg); err != nil || key == nil || trust == nil {
		t.Errorf("a trusted key: %v, %v, %v; want both and no error", key, trust, err)
	}
}
