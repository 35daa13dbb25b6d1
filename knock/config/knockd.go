package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knockbeep/knockbeep/knock"
)

// knockd.conf, read as knockd 0.8's parseconfig reads it: one directive
// per line, whitespace trimmed, '#' starting a comment line (only at the
// start: a '#' later in a line is part of the value, as in knockd), keys
// case-insensitive, sections [options] (spelled exactly so, as knockd
// compares it) and one per door. Where knockd silently accepts nonsense
// (atoi("5x") = 5, a second Sequence replacing the first) this reader says
// what is wrong and where. What the settings mean is in doc.go.

// knockdDoorKeys maps knockd's door keys, aliases included, to the TOML
// key of the same setting.
var knockdDoorKeys = map[string]string{
	"SEQUENCE":           "sequence",
	"ONE_TIME_SEQUENCES": "one_time_sequences",
	"SEQ_TIMEOUT":        "timeout",
	"TIMEOUT":            "timeout",
	"TCPFLAGS":           "tcpflags",
	"START_COMMAND":      "start_command",
	"COMMAND":            "start_command",
	"START_COMMAND_6":    "start_command_6",
	"COMMAND_6":          "start_command_6",
	"CMD_TIMEOUT":        "cmd_timeout",
	"STOP_COMMAND":       "stop_command",
	"STOP_COMMAND_6":     "stop_command_6",
	"TARGET":             "target",
}

// knockdDoorKeyNames is how the door keys are spelled in messages.
var knockdDoorKeyNames = []string{
	"Sequence", "One_Time_Sequences", "Seq_Timeout", "Timeout", "TCPFlags",
	"Start_Command", "Command", "Start_Command_6", "Command_6",
	"Cmd_Timeout", "Stop_Command", "Stop_Command_6", "Target",
}

// knockdOptions maps the [options] keys to their TOML counterparts.
var knockdOptions = map[string]string{
	"USESYSLOG": "log.syslog",
	"LOGFILE":   "log.file",
	"PIDFILE":   "pid_file",
	"INTERFACE": "interfaces",
}

var knockdOptionNames = []string{"UseSyslog", "LogFile", "PidFile", "Interface"}

// commentMap holds a knockd.conf's comments by what they were above, so
// that ConvertKnockd writes each above the TOML counterpart.
type commentMap struct {
	top      []string                    // above [options] headers: the top of the TOML file
	options  map[string][]string         // above an option, by TOML key ("log.syslog")
	doors    map[int]map[string][]string // above a door's header ("") or key, by TOML key
	trailing []string                    // after the last directive
}

// knockdDoor is a door section being read.
type knockdDoor struct {
	name string
	line int            // of the [name] header
	keys map[string]int // TOML key -> line it was set on
	// misspelt holds the TOML keys that unknown keys were taken for.
	misspelt map[string]bool
	door     knock.Door
	reason   string // why it is disabled, for a one-time door with no sequence
}

type knockdReader struct {
	p        *problems
	comments *commentMap
	doors    []*knockdDoor
	options  map[string]int // TOML key -> line
	syslog   bool
	logFile  string
	pidFile  string
	iface    string
	warnings []string // Config.Warnings
}

func (r *knockdReader) topLine(path ...string) int {
	return r.options[strings.Join(path, ".")]
}

func (r *knockdReader) topLineExact(path ...string) int { return r.topLine(path...) }

func (r *knockdReader) doorLine(i int, key string) int {
	if i < 0 || i >= len(r.doors) {
		return 0
	}
	d := r.doors[i]
	if line, ok := d.keys[key]; ok {
		return line
	}
	return d.line // the [name] header: the door's name, and where a default applies
}

func parseKnockd(name string, data []byte) (*Config, *commentMap, error) {
	r := &knockdReader{
		p:        &problems{file: name},
		comments: &commentMap{options: map[string][]string{}, doors: map[int]map[string][]string{}},
		options:  map[string]int{},
	}
	r.read(string(data))
	if err := r.p.err(); err != nil {
		return nil, nil, err
	}
	c := r.config()
	c.validate(r.p, r)
	if err := r.p.err(); err != nil {
		return nil, nil, err
	}
	return c, r.comments, nil
}

func (r *knockdReader) read(text string) {
	var pending []string
	inOptions := false
	var door *knockdDoor
	for n, raw := range strings.Split(text, "\n") {
		line := n + 1
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if s[0] == '#' {
			pending = append(pending, s) // made valid UTF-8 when written
			continue
		}
		if !utf8.ValidString(s) {
			r.p.add(line, "not valid UTF-8: save the file as UTF-8")
			continue
		}
		if s[0] == '[' && s[len(s)-1] == ']' {
			section := strings.TrimSpace(s[1 : len(s)-1])
			switch section {
			case "":
				r.p.add(line, "bad section name: write [options] or [DoorName]")
			case "options":
				inOptions, door = true, nil
				r.comments.top = append(r.comments.top, pending...)
			default:
				inOptions = false
				door = &knockdDoor{name: section, line: line, keys: map[string]int{}, misspelt: map[string]bool{}, door: defaultDoor()}
				door.door.Name = section
				r.doors = append(r.doors, door)
				r.comments.doors[len(r.doors)-1] = map[string][]string{"": pending}
			}
			pending = nil
			continue
		}
		if !inOptions && door == nil {
			r.p.add(line, "all directives must belong to a section: put [options] or a [DoorName] header above %q", s)
			pending = nil
			continue
		}
		key, value, hasValue := strings.Cut(s, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		upper := strings.ToUpper(key)
		// knockd accepts a bare UseSyslog in any section, and more than
		// once: saying it twice means the same.
		if !hasValue && upper == "USESYSLOG" {
			if _, set := r.options["log.syslog"]; !set {
				r.options["log.syslog"] = line
			}
			r.comments.options["log.syslog"] = append(r.comments.options["log.syslog"], pending...)
			r.syslog = true
			pending = nil
			continue
		}
		if inOptions {
			r.option(line, key, upper, value, hasValue, pending)
		} else {
			r.doorKey(door, line, key, upper, value, hasValue, pending)
		}
		pending = nil
	}
	r.comments.trailing = pending
	for _, d := range r.doors {
		_, seq := d.keys["sequence"]
		_, oneTime := d.keys["one_time_sequences"]
		// A misspelt Sequence was reported already, with a suggestion.
		if !seq && !oneTime && !d.misspelt["sequence"] && !d.misspelt["one_time_sequences"] {
			r.p.add(d.line, "door %q has an empty knock sequence: give Sequence = PORT[:tcp|udp],... or One_Time_Sequences = FILE", d.name)
		}
	}
}

func (r *knockdReader) setOption(line int, key, tomlKey string, comments []string) bool {
	if first, dup := r.options[tomlKey]; dup {
		r.p.add(line, "[options]: %s is already set on line %d", key, first)
		return false
	}
	r.options[tomlKey] = line
	r.comments.options[tomlKey] = append(r.comments.options[tomlKey], comments...)
	return true
}

func (r *knockdReader) option(line int, key, upper, value string, hasValue bool, comments []string) {
	tomlKey, known := knockdOptions[upper]
	switch {
	case !known:
		r.p.add(line, "[options]: unknown key %q%s: knockd's options are UseSyslog, LogFile, PidFile and Interface", key, suggest(key, knockdOptionNames))
		return
	case upper == "USESYSLOG":
		r.p.add(line, "[options]: UseSyslog takes no value: write it alone on its line")
		return
	case !hasValue:
		r.p.add(line, "[options]: syntax error: write %s = VALUE", key)
		return
	case value == "":
		r.p.add(line, "[options]: %s is empty", key)
		return
	}
	if !r.setOption(line, key, tomlKey, comments) {
		return
	}
	switch upper {
	case "LOGFILE":
		r.logFile = value
	case "PIDFILE":
		r.pidFile = value
	case "INTERFACE":
		if err := checkInterfaces(normalizeInterfaces([]string{value})); err != nil {
			r.p.add(line, "[options]: Interface: %v", err)
		}
		r.iface = value
	}
}

func (r *knockdReader) doorKey(d *knockdDoor, line int, key, upper, value string, hasValue bool, comments []string) {
	label := fmt.Sprintf("door %q", d.name)
	tomlKey, known := knockdDoorKeys[upper]
	switch {
	case !known:
		if _, isOption := knockdOptions[upper]; isOption {
			r.p.add(line, "%s: %s belongs in the [options] section", label, key)
			return
		}
		hint, meant := suggestion(key, knockdDoorKeyNames)
		if meant != "" {
			d.misspelt[knockdDoorKeys[strings.ToUpper(meant)]] = true
		}
		r.p.add(line, "%s: unknown key %q%s", label, key, hint)
		return
	case !hasValue:
		r.p.add(line, "%s: syntax error: write %s = VALUE", label, key)
		return
	}
	if first, dup := d.keys[tomlKey]; dup {
		r.p.add(line, "%s: %s is already set on line %d", label, key, first)
		return
	}
	d.keys[tomlKey] = line
	i := len(r.doors) - 1
	r.comments.doors[i][tomlKey] = comments
	bad := func(format string, args ...any) {
		r.p.add(line, "%s: %s: %s", label, key, fmt.Sprintf(format, args...))
	}
	switch tomlKey {
	case "sequence":
		if _, ok := d.keys["one_time_sequences"]; ok {
			bad("the door already has One_Time_Sequences: keep one")
			return
		}
		steps, err := parseSequence(value)
		if err != nil {
			bad("%v", err)
		}
		d.door.Sequence = steps
	case "one_time_sequences":
		if _, ok := d.keys["sequence"]; ok {
			bad("the door already has Sequence: keep one")
			return
		}
		if value == "" {
			bad("empty file name")
			return
		}
		d.door.OneTimeFile = value
		steps, warnings, err := OneTime{Path: value}.Current()
		r.warnings = append(r.warnings, warnings...)
		if err != nil {
			d.reason = err.Error()
		}
		d.door.Sequence = steps
	case "timeout":
		if n, ok := seconds(value, 1); ok {
			d.door.Timeout = n
		} else {
			bad("%q is not a whole number of seconds greater than 0", value)
		}
	case "cmd_timeout":
		if n, ok := seconds(value, 0); ok {
			d.door.StopDelay = n
		} else {
			bad("%q is not a whole number of seconds", value)
		}
	case "tcpflags":
		m, err := parseTCPFlags(value)
		if err != nil {
			bad("%v", err)
		}
		d.door.Flags = m
	case "target":
		a, err := netip.ParseAddr(value)
		if err != nil {
			bad("%q is not an IP address", value)
			return
		}
		d.door.Targets = []netip.Addr{a}
	default:
		var cmd knock.Command
		if value != "" {
			cmd = knock.Command{Argv: []string{value}, Shell: true}
		}
		switch tomlKey {
		case "start_command":
			d.door.Start = cmd
		case "start_command_6":
			d.door.Start6 = cmd
		case "stop_command":
			d.door.Stop = cmd
		case "stop_command_6":
			d.door.Stop6 = cmd
		}
	}
}

// seconds reads knockd's whole seconds, at least min.
func seconds(s string, min int64) (time.Duration, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > math.MaxInt64/int64(time.Second) || strings.HasPrefix(s, "+") {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func (r *knockdReader) config() *Config {
	c := Default()
	c.Source = FormatKnockd
	c.Music.Enabled = false
	if r.iface != "" {
		c.Interfaces = normalizeInterfaces([]string{r.iface})
	}
	c.PidFile = r.pidFile
	c.Warnings = r.warnings
	c.Log.Syslog = r.syslog
	c.Log.File = r.logFile
	if r.logFile != "" {
		c.Log.Format = LogKnockd
	}
	c.Log.Stderr = !r.syslog && r.logFile == ""
	for i, d := range r.doors {
		if d.reason != "" {
			c.Disabled = append(c.Disabled, DisabledDoor{Index: i, Door: d.door, Reason: d.reason})
			continue
		}
		c.Doors = append(c.Doors, d.door)
	}
	return c
}
