package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDetect(t *testing.T) {
	debian, err := os.ReadFile(filepath.Join("testdata", "debian-knockd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		text string
		want Format
	}{
		{"Debian's knockd.conf", string(debian), FormatKnockd},
		{"empty", "", FormatTOML},
		{"top-level keys", "speaker = \"auto\"\n", FormatTOML},
		{"array of tables", "[[door]]\nname = \"x\"\n", FormatTOML},
		{"log and music tables", "[log]\nlevel = \"debug\"\n[music]\nqueue = 1\n", FormatTOML},
		{"a [door] table is TOML, written wrong", "[door]\nname = \"x\"\n", FormatTOML},
		{"options section", "[options]\n\tInterface = eth0\n", FormatKnockd},
		{"bare UseSyslog", "UseSyslog\n", FormatKnockd},
		{"door sections that are not TOML", "[ssh]\nsequence = 7000,8000\ncommand = /bin/true\n", FormatKnockd},
		{"door section that happens to be valid TOML", "[ssh]\nsequence = 7000\nseq_timeout = 5\n", FormatKnockd},
		{"knockd directive before any section", "Sequence = 1\n[d]\nSequence = 2\n", FormatKnockd},
		{"TOML with a misspelt table", "speaker = \"auto\"\n[musik]\ntone_port = 1000\n", FormatTOML},
		{"TOML with a broken value stays TOML", "speaker = \nstate_dir = \"/x\"\n", FormatTOML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect([]byte(tt.text)); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

// The file name does not decide the syntax: content does.
func TestParseDetectsByContent(t *testing.T) {
	tests := []struct {
		name, file, text string
		want             Format
	}{
		{"knockd.conf named .toml", "x.toml", "[options]\nUseSyslog\n[d]\nSequence = 1\n", FormatKnockd},
		{"TOML named knockd.conf", "knockd.conf", "[[door]]\nname = \"d\"\nsequence = \"1\"\n", FormatTOML},
		{"knockd.conf saved with a byte order mark", "bom.conf", "\ufeff[options]\nUseSyslog\n[d]\nSequence = 1\n", FormatKnockd},
		{"TOML saved with a byte order mark", "bom.toml", "\ufeff[[door]]\nname = \"d\"\nsequence = \"1\"\n", FormatTOML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.text)
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Source != tt.want {
				t.Errorf("Source = %v, want %v", c.Source, tt.want)
			}
			if len(c.Doors) != 1 || c.Doors[0].Name != "d" {
				t.Errorf("Doors = %+v, want door d", c.Doors)
			}
		})
	}
}
