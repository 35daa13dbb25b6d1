package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// newKey writes a key file named name in dir with mode perm.
func newKey(t *testing.T, dir, name string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// A rotating door reads its keys over the defaults, and writes back.
func TestRotatingDoor(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := newKey(t, dir, "a.key", 0o600), newKey(t, dir, "b.key", 0o400)
	users := t.TempDir()
	newKey(t, users, "alice.key", 0o600)
	tests := []struct {
		name string
		door string
		want knock.Rotating
	}{
		{"defaults", `secret_file = "` + k1 + `"`, func() knock.Rotating {
			r := DefaultRotating()
			r.SecretFiles = []string{k1}
			return r
		}()},
		{"every key, two files", `secret_file = ["` + k1 + `", "` + k2 + `"]
period = "2s"
skew = 0
length = 6
port_range = "30000-30999"
protocols = "udp, tcp"
bind_source = false`, knock.Rotating{SecretFiles: []string{k1, k2}, Period: 2 * time.Second, Skew: 0, Length: 6,
			PortLo: 30000, PortHi: 30999, Protos: []knock.Proto{knock.TCP, knock.UDP}}},
		{"bound to the knocker's address", `secret_file = "` + k1 + `"
bind_source = true`, func() knock.Rotating {
			r := DefaultRotating()
			r.SecretFiles, r.BindSource = []string{k1}, true
			return r
		}()},
		{"users' keys", `user_keys = "` + users + `"`, func() knock.Rotating {
			r := DefaultRotating()
			r.UserKeys = users
			return r
		}()},
		{"answering", `secret_file = "` + k1 + `"
reply = true`, func() knock.Rotating {
			r := DefaultRotating()
			r.SecretFiles, r.Reply = []string{k1}, true
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("r.toml", []byte("[[door]]\nname = \"ssh\"\n"+tt.door+"\nstart_command = [\"true\"]\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Doors[0].Rotating
			if got == nil || !slices.Equal(got.SecretFiles, tt.want.SecretFiles) || got.UserKeys != tt.want.UserKeys || got.Period != tt.want.Period ||
				got.Skew != tt.want.Skew || got.Length != tt.want.Length || got.PortLo != tt.want.PortLo ||
				got.PortHi != tt.want.PortHi || !slices.Equal(got.Protos, tt.want.Protos) || got.BindSource != tt.want.BindSource || got.Reply != tt.want.Reply {
				t.Errorf("Rotating = %+v, want %+v", got, tt.want)
			}
			checkRoundTrip(t, c)
		})
	}
}

func TestRotatingDoorErrors(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "ok.key", 0o600)
	open := newKey(t, dir, "open.key", 0o644)
	empty, users := t.TempDir(), t.TempDir()
	newKey(t, users, "alice.key", 0o600)
	tests := []struct {
		name string
		text string
		want string
	}{
		{"key file readable by others", `[[door]]
name = "ssh"
secret_file = "` + open + `"`, `line 3: door "ssh": key file ` + open + `: mode 0644 lets group or others read or change it: chmod 600 ` + open},
		{"missing key file", `[[door]]
name = "ssh"
secret_file = "` + dir + `/absent"`, `line 3: door "ssh": key file: open ` + dir + `/absent: no such file or directory`},
		{"the same key twice", `[[door]]
name = "ssh"
secret_file = ["` + key + `", "` + key + `"]`, `line 3: door "ssh": the two secret files hold the same key`},
		{"three keys", `[[door]]
name = "ssh"
secret_file = ["` + key + `", "` + key + `", "` + key + `"]`, `secret_file names 3 files: give one, or two while clients move to a new key`},
		{"users' keys and a secret", `[[door]]
name = "ssh"
secret_file = "` + key + `"
user_keys = "` + dir + `"`, `line 4: door "ssh" has user_keys and secret_file: give one secret for everyone`},
		{"fleet users without a cluster", `[[door]]
name = "ssh"
fleet_users = true`, `line 3: door "ssh": fleet_users = true needs a [cluster] table`},
		{"fleet users and a secret", `[[door]]
name = "ssh"
secret_file = "` + key + `"
fleet_users = true`, `line 4: door "ssh" has fleet_users and another source of its sequence`},
		{"users' keys and a sequence", `[[door]]
name = "ssh"
sequence = "1,2"
user_keys = "` + dir + `"`, `line 4: door "ssh" has user_keys and a sequence`},
		{"a user's key readable by others", `[[door]]
name = "ssh"
user_keys = "` + dir + `"`, `line 3: door "ssh": key file ` + open + `: mode 0644`},
		{"no users", `[[door]]
name = "ssh"
user_keys = "` + empty + `"`, `line 3: door "ssh": key directory ` + empty + ` holds no NAME.key file`},
		{"users' keys on a message door", `[[door]]
name = "ssh"
kind = "message"
max_bytes = 10
user_keys = "` + users + `"`, `line 5: door "ssh": a message door takes secret_file, one key for its senders, not users' keys`},
		{"with a sequence", `[[door]]
name = "ssh"
sequence = "1,2"
secret_file = "` + key + `"`, `line 4: door "ssh" has secret_file and a sequence`},
		{"period without secret_file", `[[door]]
name = "ssh"
sequence = "1,2"
period = "30s"`, `line 4: door "ssh": period is a setting of rotating doors: give secret_file too, or remove it`},
		{"period not whole seconds", `[[door]]
name = "ssh"
secret_file = "` + key + `"
period = "1500ms"`, `line 4: door "ssh": period = "1.5s": give whole seconds, at least 1s`},
		{"range too small", `[[door]]
name = "ssh"
secret_file = "` + key + `"
port_range = "100-105"`, `door "ssh": port range 100-105 holds 6 ports: too few`},
		{"bad range", `[[door]]
name = "ssh"
secret_file = "` + key + `"
port_range = "9-x"`, `line 4: door "ssh": port_range: port_range = "9-x": give LOW-HIGH, e.g. "20000-32767"`},
		{"bad protocols", `[[door]]
name = "ssh"
secret_file = "` + key + `"
protocols = "sctp"`, `door "ssh": protocols: protocols = "sctp": give "tcp", "udp" or "tcp,udp"`},
		{"range holds another door's port", `[[door]]
name = "web"
sequence = "25000"
[[door]]
name = "ssh"
secret_file = "` + key + `"`, `door "ssh": port_range 20000-32767 holds port 25000 of door "web": move one of them`},
		{"ranges overlap", `[[door]]
name = "a"
secret_file = "` + key + `"
port_range = "1000-2000"
[[door]]
name = "b"
secret_file = "` + key + `"
port_range = "2000-3000"`, `door "b": port_range 2000-3000 overlaps door "a"'s 1000-2000`},
		{"range holds a music port", `[music]
tone_port = 30000
[[door]]
name = "ssh"
secret_file = "` + key + `"`, `door "ssh": port_range 20000-32767 holds the music tone_port (30000): move the range or the music ports`},
		{"bind_source not a boolean", `[[door]]
name = "ssh"
secret_file = "` + key + `"
bind_source = "yes"`, `bind_source`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.toml", []byte(tt.text+"\nstart_command = [\"true\"]\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// A message door: a rotating door's keys and range with kind = "message"
// and max_bytes; what does not fit one is refused, saying where.
func TestMessageDoor(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "notify.key", 0o600)
	c, err := Parse("m.toml", []byte("[[door]]\nname = \"notify\"\nkind = \"message\"\nsecret_file = \""+key+"\"\nmax_bytes = 100\nport_range = \"40000-49999\"\nstart_command = [\"logger\", \"%MESSAGE%\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Doors[0]
	if d.Message == nil || d.Message.MaxBytes != 100 || d.Rotating == nil || d.Rotating.PortLo != 40000 {
		t.Fatalf("door %+v, message %+v", d, d.Message)
	}
	checkRoundTrip(t, c)
	c, err = Parse("m.toml", []byte("[[door]]\nname = \"notify\"\nkind = \"message\"\nsecret_file = \""+key+"\"\nstart_command = [\"true\"]\n"))
	if err != nil || c.Doors[0].Message.MaxBytes != DefaultMaxBytes {
		t.Errorf("default max_bytes: %v, %+v", err, c.Doors[0].Message)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"no key", "kind = \"message\"\nsequence = [\"1\", \"2\"]", "a message door needs secret_file"},
		{"max_bytes on a sequence door", "sequence = [\"1\", \"2\"]\nmax_bytes = 10", "max_bytes is a setting of message doors"},
		{"unknown kind", "secret_file = \"" + key + "\"\nkind = \"letter\"", `kind = "letter": give "sequence" (the default) or "message"`},
		{"length", "secret_file = \"" + key + "\"\nkind = \"message\"\nlength = 4", "a message door has no length"},
		{"bind_source", "secret_file = \"" + key + "\"\nkind = \"message\"\nbind_source = true", "a message door has no bind_source"},
		{"reply", "secret_file = \"" + key + "\"\nkind = \"message\"\nreply = true", "a message door has no reply"},
		{"reply on a static door", "sequence = [\"1\", \"2\"]\nreply = true", "reply is a setting of rotating doors"},
		{"too long for the range", "secret_file = \"" + key + "\"\nkind = \"message\"\nport_range = \"20000-21000\"\nmax_bytes = 256", "port_range 20000-21000 carries at most"},
		{"max_bytes out of bounds", "secret_file = \"" + key + "\"\nkind = \"message\"\nmax_bytes = 0", "max_bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte("[[door]]\nname = \"notify\"\n"+tt.text+"\nstart_command = [\"true\"]\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "m.toml:") {
				t.Errorf("error %v, want one at a line of m.toml saying %q", err, tt.want)
			}
		})
	}
}

// %MESSAGE% only ever becomes one whole argument: refused inside another
// argument, in a shell command, and on doors that have no text.
func TestMessagePlaceholder(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "notify.key", 0o600)
	msg := "[[door]]\nname = \"notify\"\nkind = \"message\"\nsecret_file = \"" + key + "\"\n"
	for _, tt := range []struct{ name, text, want string }{
		{"whole argument", msg + `start_command = ["/usr/bin/logger", "-t", "knock", "%MESSAGE%"]`, ""},
		{"positional parameter of sh -c", msg + `start_command = ["/bin/sh", "-c", "printf '%s' \"$1\"", "sh", "%MESSAGE%"]`, ""},
		{"shell mode with $KNOCK_MESSAGE", msg + "shell = true\nstart_command = \"logger \\\"$KNOCK_MESSAGE\\\"\"", ""},
		{"inside sh -c", msg + `start_command = ["/bin/sh", "-c", "echo %MESSAGE%"]`, "must be an argument by itself"},
		{"inside another argument", msg + `start_command = ["/usr/bin/logger", "got %MESSAGE%"]`, "must be an argument by itself"},
		{"shell mode", msg + "shell = true\nstart_command = \"logger \\\"got %MESSAGE%\\\"\"", "write \"$KNOCK_MESSAGE\""},
		{"in the stop command", msg + `start_command = ["/bin/true"]` + "\n" + `stop_command = ["/bin/sh", "-c", "x %MESSAGE%"]`, "stop_command: %MESSAGE% must be an argument by itself"},
		{"a sequence door", "[[door]]\nname = \"ssh\"\nsequence = [\"1\", \"2\"]\nstart_command = [\"logger\", \"%MESSAGE%\"]", "this door has none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(tt.text+"\n"))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "m.toml:")):
				t.Errorf("error %v, want one at a line of m.toml saying %q", err, tt.want)
			}
		})
	}
}

func TestMessageDoorLimits(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "notify.key", 0o600)
	msg := "[[door]]\nname = \"notify\"\nkind = \"message\"\nsecret_file = \"" + key + "\"\nstart_command = [\"/bin/true\"]\n"
	for _, tt := range []struct{ name, text, want string }{
		{"firewall sets", msg + "open = [\"nft:inet/filter/knocked4\"]\nopen_for = \"1h\"", "a message door opens no firewall set"},
		{"stop command", msg + "stop_command = [\"/bin/true\"]", "has no stop_command"},
		{"too many values", msg + "port_range = \"1024-65535\"\nprotocols = \"tcp,udp\"", "more than a message door uses (65536)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("m.toml", []byte(tt.text+"\n")); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// [music] secret_file moves the songs onto rotating ports; the table's
// other keys stay as they were, and the config writes back.
func TestMusicSecret(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "music.key", 0o600)
	tests := []struct {
		name  string
		music string
		want  knock.Rotating
	}{
		{"defaults", `secret_file = "` + key + `"`, func() knock.Rotating {
			r := DefaultRotating()
			r.SecretFiles = []string{key}
			return r
		}()},
		{"every key", `secret_file = "` + key + `"
period = "60s"
skew = 2
port_range = "40000-49999"
protocols = "tcp,udp"`, knock.Rotating{SecretFiles: []string{key}, Period: time.Minute, Skew: 2, Length: DefaultRotating().Length,
			PortLo: 40000, PortHi: 49999, Protos: []knock.Proto{knock.TCP, knock.UDP}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("m.toml", []byte("[music]\nstep = \"50ms\"\n"+tt.music+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Music.Rotating
			if got == nil || !slices.Equal(got.SecretFiles, tt.want.SecretFiles) || got.Period != tt.want.Period || got.Skew != tt.want.Skew ||
				got.PortLo != tt.want.PortLo || got.PortHi != tt.want.PortHi || !slices.Equal(got.Protos, tt.want.Protos) {
				t.Errorf("Music.Rotating = %+v, want %+v", got, tt.want)
			}
			if c.Music.Protocol.Step != 50*time.Millisecond {
				t.Errorf("step = %v: the table's other keys were lost", c.Music.Protocol.Step)
			}
			checkRoundTrip(t, c)
		})
	}
	if c, err := Parse("m.toml", []byte("[music]\nstep = \"50ms\"\n")); err != nil || c.Music.Rotating != nil {
		t.Errorf("[music] without secret_file: Rotating = %+v, %v; want the static ports", c.Music.Rotating, err)
	}
}

func TestMusicSecretErrors(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "ok.key", 0o600)
	open := newKey(t, dir, "open.key", 0o644)
	tests := []struct {
		name string
		text string
		want string
	}{
		{"key file readable by others", "[music]\nsecret_file = \"" + open + "\"", `line 2: [music]: key file ` + open + `: mode 0644 lets group or others read`},
		{"period without secret_file", "[music]\nperiod = \"30s\"", `line 1: [music]: period, skew, port_range and protocols are settings of songs under a secret: give secret_file too`},
		{"range too small for a song", "[music]\nsecret_file = \"" + key + "\"\nport_range = \"40000-41000\"", `line 3: [music] port_range 40000-41000 carries songs of at most`},
		{"a door's port in the range", "[music]\nsecret_file = \"" + key + "\"\n[[door]]\nname = \"web\"\nsequence = \"25000\"\nstart_command = [\"true\"]",
			`line 5: door "web": port 25000/tcp is also the music port_range 20000-32767 of [music]`},
		{"a rotating door's range over it", "[music]\nsecret_file = \"" + key + "\"\nport_range = \"40000-49999\"\n[[door]]\nname = \"ssh\"\nsecret_file = \"" + key + "\"\nport_range = \"45000-46000\"\nstart_command = [\"true\"]",
			`door "ssh": port_range 45000-46000 holds the music port_range 40000-49999 of [music]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to say %q", err, tt.want)
			}
		})
	}
}
