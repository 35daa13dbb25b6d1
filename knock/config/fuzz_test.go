package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkParsed asserts what holds for any input: an error is a config
// error, and an accepted config respects the limits, validates, and its
// TOML parses back to it.
func checkParsed(t *testing.T, c *Config, err error) {
	t.Helper()
	if err != nil {
		if c != nil {
			t.Fatalf("config returned with error %v", err)
		}
		if !strings.HasPrefix(err.Error(), "config: ") {
			t.Fatalf("error without the package prefix: %q", err)
		}
		return
	}
	for _, d := range c.Doors {
		if r := d.Rotating; r != nil {
			// Its keys come from exactly one place: one or two secret
			// files, a directory of users' keys, or the fleet's users.
			sources := 0
			if len(r.SecretFiles) >= 1 && len(r.SecretFiles) <= 2 {
				sources++
			}
			if r.UserKeys != "" {
				sources++
			}
			if r.FleetUsers {
				sources++
			}
			if len(d.Sequence) != 0 || sources != 1 || len(r.SecretFiles) > 2 || r.PortLo == 0 || r.PortHi < r.PortLo || len(r.Protos) == 0 {
				t.Fatalf("rotating door %q accepted with %+v and %d steps", d.Name, r, len(d.Sequence))
			}
			continue
		}
		if len(d.Sequence) < 1 || len(d.Sequence) > MaxSequenceLength {
			t.Fatalf("door %q has %d steps", d.Name, len(d.Sequence))
		}
		for _, st := range d.Sequence {
			if st.Port == 0 {
				t.Fatalf("door %q has port 0", d.Name)
			}
		}
	}
	checkRoundTrip(t, c)
}

func FuzzParseTOML(f *testing.F) {
	for _, tt := range tomlTests {
		f.Add(tt.text)
	}
	for _, tt := range tomlErrorTests {
		f.Add(tt.text)
	}
	if shipped, err := os.ReadFile(filepath.Join("..", "..", "configs", "knockbeepd.toml")); err == nil {
		f.Add(string(shipped))
	}
	// Rotating doors: the key file does not exist, so these stop at
	// validation, after every key's value was read.
	for _, door := range []string{
		`secret_file = "/nonexistent.key"`,
		`secret_file = ["/a.key", "/b.key"]` + "\nperiod = \"2s\"\nskew = 0\nlength = 6\nport_range = \"30000-30999\"\nprotocols = \"udp,tcp\"\nbind_source = false",
		`secret_file = "/k"` + "\nport_range = \"9-x\"\nprotocols = \"sctp\"",
		`sequence = "1,2"` + "\nperiod = \"30s\"",
		`secret_file = "/k"` + "\nkind = \"message\"\nmax_bytes = 300\nport_range = \"40000-49999\"",
		`sequence = "1,2"` + "\nkind = \"message\"\nmax_bytes = -1",
	} {
		f.Add("[[door]]\nname = \"ssh\"\n" + door + "\nstart_command = [\"true\"]\n")
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseTOML("fuzz.toml", []byte(text))
		checkParsed(t, c, err)
	})
}

func FuzzParseKnockd(f *testing.F) {
	for _, tt := range knockdTests {
		f.Add(tt.text)
	}
	for _, tt := range knockdErrorTests {
		f.Add(tt.text)
	}
	for _, name := range []string{filepath.Join("testdata", "debian-knockd.conf"), filepath.Join("..", "..", "configs", "knockd.conf")} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(string(data))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, comments, err := parseKnockd("fuzz.conf", []byte(text))
		checkParsed(t, c, err)
		if err != nil {
			return
		}
		// The conversion, comments and all, is TOML meaning the same.
		var out bytes.Buffer
		if err := c.writeTOML(&out, comments); err != nil {
			t.Fatal(err)
		}
		back, err := Parse("converted.toml", out.Bytes())
		if err != nil {
			t.Fatalf("converted knockd.conf does not parse: %v\n%s", err, out.String())
		}
		if d := configDiff(t, c, back); d != "" {
			t.Fatalf("conversion changed the config (-want +got):\n%s", d)
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, tt := range tomlTests {
		f.Add(tt.text)
	}
	for _, tt := range knockdTests {
		f.Add(tt.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// Whatever the syntax detected, Parse must end cleanly with it.
		c, err := Parse("fuzz", []byte(text))
		checkParsed(t, c, err)
		if err == nil && c.Source != Detect([]byte(text)) {
			t.Fatalf("Source %v, Detect %v", c.Source, Detect([]byte(text)))
		}
	})
}
