package config

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// Detect tells which syntax data is written in, from its content alone, so
// that a knockd.conf works under any file name and a TOML file under the
// name knockd.conf. In order:
//   - a [[table]] header, or a key before the first section: TOML (knockd
//     rejects both);
//   - an [options] section or a bare UseSyslog line: knockd.conf (neither
//     is valid TOML);
//   - no section but [log], [music] and [door]: TOML;
//   - other sections, in a text that is not valid TOML: knockd.conf;
//   - other sections holding only knockd's door keys ("[ssh]" with
//     "sequence = 7000" is valid TOML too): knockd.conf;
//   - otherwise TOML, so that a TOML file with a misspelt table gets told
//     about its table.
func Detect(data []byte) Format {
	sawSection, inForeign := false, false
	foreign, foreignKeysAreKnockd := false, true
	for _, raw := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(raw)
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			return FormatTOML
		case s[0] == '[':
			name, _, _ := strings.Cut(s[1:], "]")
			switch strings.TrimSpace(name) {
			case "options":
				return FormatKnockd
			case "log", "music", "door":
				inForeign = false
			default:
				inForeign, foreign = true, true
			}
			sawSection = true
		case strings.EqualFold(s, "usesyslog"):
			return FormatKnockd
		case !sawSection:
			return FormatTOML
		case inForeign:
			key, _, _ := strings.Cut(s, "=")
			if _, ok := knockdDoorKeys[strings.ToUpper(strings.TrimSpace(key))]; !ok {
				foreignKeysAreKnockd = false
			}
		}
	}
	if !foreign {
		return FormatTOML
	}
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil || foreignKeysAreKnockd {
		return FormatKnockd
	}
	return FormatTOML
}
