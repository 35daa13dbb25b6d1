package config

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// Detect tells which syntax data is written in, from its content alone, so
// that a knockd.conf works under any file name and a TOML file under the
// name knockd.conf. In order:
//   - a [[table]] header: TOML (knockd has none);
//   - an [options] section or a bare UseSyslog line: knockd.conf (neither
//     is valid TOML);
//   - no section but [log], [music] and [door]: TOML;
//   - other sections, in a text that is not valid TOML: knockd.conf;
//   - other sections, with only knockd's keys in the text ("[ssh]" then
//     "sequence = 7000" is valid TOML too): knockd.conf;
//   - otherwise TOML, so that a TOML file with a misspelt table is told
//     about its table.
func Detect(data []byte) Format {
	foreign, inForeign, sawSection := false, false, false
	onlyKnockdKeys := true
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
		case inForeign || !sawSection:
			key, _, _ := strings.Cut(s, "=")
			key = strings.ToUpper(strings.TrimSpace(key))
			_, door := knockdDoorKeys[key]
			_, option := knockdOptions[key]
			onlyKnockdKeys = onlyKnockdKeys && (door || option)
		}
	}
	if !foreign {
		return FormatTOML
	}
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil || onlyKnockdKeys {
		return FormatKnockd
	}
	return FormatTOML
}
