package config

// A rotating door's settings: what package config knows of the rotating
// door kind (package source derives its sequences). Its keys are fields of
// tomlDoor; everything else about them is here.

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// MaxSkew is the most periods a rotating door may accept on either side of
// the current one: each adds a sequence that opens the door.
const MaxSkew = 10

// DefaultRotating is a rotating door's settings before its keys are
// applied: a new sequence of 4 TCP knocks every 30 s, the periods next to
// the current one accepted too. The range, 20000-32767, stays below the
// music note ports (32768-65535) and below Linux's ports for outgoing
// connections (32768-60999), whose replies would otherwise all reach the
// daemon: a rotating door's whole range passes the kernel filter.
func DefaultRotating() knock.Rotating {
	return knock.Rotating{
		Period: 30 * time.Second,
		Skew:   1,
		Length: 4,
		PortLo: 20000,
		PortHi: 32767,
		Protos: []knock.Proto{knock.TCP},
	}
}

// MinSongBytes is the least a [music] port_range must carry: a short
// tune packed (sequence.PackKnocks) takes a few dozen bytes.
const MinSongBytes = 64

// rotatingKeys are the settings of a rotating door besides secret_file.
var rotatingKeys = []string{"period", "skew", "length", "port_range", "protocols", "bind_source", "reply"}

// rotatingFields are the TOML values of a rotating table's keys: a door's,
// or [music]'s (which has no length, bind_source or reply).
type rotatingFields struct {
	SecretFile, UserKeys, FleetUsers, Period, Skew, Length, PortRange, Protocols, BindSource, Reply any
}

// rotating reads the keys of a rotating door (one with secret_file),
// starting from DefaultRotating.
func (d *tomlDecoder) rotating(i int, f *tomlFile) *knock.Rotating {
	raw := f.Door[i]
	return readRotating(func(key string) setting { return d.doorSetting(i, f, key) }, rotatingFields{
		SecretFile: raw.SecretFile, UserKeys: raw.UserKeys, FleetUsers: raw.FleetUsers, Period: raw.Period, Skew: raw.Skew, Length: raw.Length, PortRange: raw.PortRange,
		Protocols: raw.Protocols, BindSource: raw.BindSource, Reply: raw.Reply,
	})
}

// readRotating reads raw's keys, each at its setting, starting from
// DefaultRotating.
func readRotating(at func(key string) setting, raw rotatingFields) *knock.Rotating {
	r := DefaultRotating()
	if raw.SecretFile != nil {
		if files, ok := at("secret_file").strings(raw.SecretFile); ok {
			r.SecretFiles = files
		}
	}
	at("user_keys").str(raw.UserKeys, &r.UserKeys)
	at("fleet_users").boolean(raw.FleetUsers, &r.FleetUsers)
	at("period").duration(raw.Period, &r.Period)
	at("skew").integer(raw.Skew, &r.Skew, 0, MaxSkew)
	at("length").integer(raw.Length, &r.Length, 1, MaxSequenceLength)
	var s string
	if at("port_range").str(raw.PortRange, &s) {
		lo, hi, err := parsePortRange(s)
		if err != nil {
			at("port_range").bad("%v", err)
		}
		r.PortLo, r.PortHi = lo, hi
	}
	if at("protocols").str(raw.Protocols, &s) {
		protos, err := parseProtocols(s)
		if err != nil {
			at("protocols").bad("%v", err)
		}
		r.Protos = protos
	}
	at("bind_source").boolean(raw.BindSource, &r.BindSource)
	at("reply").boolean(raw.Reply, &r.Reply)
	return &r
}

// validateRotating checks a rotating door's settings and reads its keys,
// so that a key file others can read stops the daemon at start (naming
// the file), not at the first knock.
func validateRotating(p *problems, at locator, i int, label string, r *knock.Rotating) {
	checkRotating(p, func(key string) int { return at.doorLine(i, key) }, label, r)
}

// checkRotating checks r, reporting each problem at line(key).
func checkRotating(p *problems, line func(key string) int, label string, r *knock.Rotating) {
	switch {
	case r.FleetUsers:
		// The keys come from the fleet at run time.
	case r.UserKeys != "":
		// Read now, so that a key others can read stops the daemon at
		// start; a reload reads the directory again (users added or
		// removed).
		if _, err := portlang.ReadKeyDir(r.UserKeys); err != nil {
			p.add(line("user_keys"), "%s: %v", label, err)
		}
	case len(r.SecretFiles) == 0 || len(r.SecretFiles) > 2:
		p.add(line("secret_file"), "%s: secret_file names %d files: give one, or two while clients move to a new key", label, len(r.SecretFiles))
	}
	var keys [][]byte
	for _, path := range r.SecretFiles {
		key, err := portlang.ReadKeyFile(path)
		if err != nil {
			p.add(line("secret_file"), "%s: %v", label, err)
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 2 && subtle.ConstantTimeCompare(keys[0], keys[1]) == 1 {
		p.add(line("secret_file"), "%s: the two secret files hold the same key: give the new key's file as the second", label)
	}
	if r.Period < time.Second || r.Period%time.Second != 0 {
		p.add(line("period"), "%s: period = %q: give whole seconds, at least 1s (the port language counts periods in seconds)", label, r.Period)
	}
	if r.Skew < 0 || r.Skew > MaxSkew {
		p.add(line("skew"), "%s: skew = %d: give 0 to %d periods", label, r.Skew, MaxSkew)
	}
	if r.Length > MaxSequenceLength {
		p.add(line("length"), "%s: length = %d: at most %d knocks", label, r.Length, MaxSequenceLength)
	}
	sh := portlang.ShapeOf(r)
	if err := sh.Check(); err != nil {
		p.add(line("port_range"), "%s: %v", label, err)
	}
}

// validateRanges checks that no rotating door's port range holds a port
// another door knocks on, a music port, or part of another rotating
// door's range: the derivation draws every port of the range, so a shared
// port would let one door's knocks reset another's.
func (c *Config) validateRanges(p *problems, at locator, music func(uint16) (string, bool)) {
	doors := c.allDoors()
	for i, fd := range doors {
		r := fd.Door.Rotating
		if r == nil || r.PortLo == 0 || r.PortHi < r.PortLo {
			continue
		}
		label := doorName(i, fd.Door)
		in := func(port uint16) bool { return port >= r.PortLo && port <= r.PortHi }
		for j, other := range doors {
			if j == i {
				continue
			}
			o := other.Door
			if o.Rotating != nil {
				if j < i && o.Rotating.PortLo <= r.PortHi && r.PortLo <= o.Rotating.PortHi {
					p.add(at.doorLine(i, "port_range"), "%s: port_range %d-%d overlaps door %q's %d-%d: give each rotating door its own range",
						label, r.PortLo, r.PortHi, o.Name, o.Rotating.PortLo, o.Rotating.PortHi)
				}
				continue
			}
			for _, st := range o.Sequence {
				if in(st.Port) {
					p.add(at.doorLine(i, "port_range"), "%s: port_range %d-%d holds port %d of door %q: move one of them", label, r.PortLo, r.PortHi, st.Port, o.Name)
					break
				}
			}
		}
		for port := int(r.PortLo); port <= int(r.PortHi) && music != nil; port++ {
			if name, clash := music(uint16(port)); clash {
				p.add(at.doorLine(i, "port_range"), "%s: port_range %d-%d holds the music %s (%d): move the range or the music ports", label, r.PortLo, r.PortHi, name, port)
				break
			}
		}
	}
}

// parsePortRange reads a rotating door's port_range, "LOW-HIGH".
func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		lo, err = parsePort(strings.TrimSpace(a))
		if err == nil {
			hi, err = parsePort(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || hi < lo {
		return 0, 0, fmt.Errorf("port_range = %q: give LOW-HIGH, e.g. \"20000-32767\"", s)
	}
	return lo, hi, nil
}

// parseProtocols reads a rotating door's protocols: "tcp", "udp" or
// "tcp,udp", returned in the port language's order (tcp first).
func parseProtocols(s string) ([]knock.Proto, error) {
	var tcp, udp bool
	for _, p := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "tcp":
			tcp = true
		case "udp":
			udp = true
		default:
			return nil, fmt.Errorf("protocols = %q: give \"tcp\", \"udp\" or \"tcp,udp\"", s)
		}
	}
	var out []knock.Proto
	if tcp {
		out = append(out, knock.TCP)
	}
	if udp {
		out = append(out, knock.UDP)
	}
	return out, nil
}

// rotating writes a rotating door's keys.
func (tw *tomlWriter) rotating(r *knock.Rotating, message bool, comments map[string][]string) {
	tw.skip(comments["sequence"])
	switch {
	case r.FleetUsers:
		tw.key(comments["fleet_users"], "fleet_users", "true")
	case r.UserKeys != "":
		tw.key(comments["user_keys"], "user_keys", tomlString(r.UserKeys))
	default:
		files := tomlString(r.SecretFiles[0])
		if len(r.SecretFiles) > 1 {
			files = tomlStrings(r.SecretFiles)
		}
		tw.key(comments["secret_file"], "secret_file", files)
	}
	tw.key(comments["period"], "period", tomlDuration(r.Period))
	tw.key(comments["skew"], "skew", fmt.Sprint(r.Skew))
	if !message {
		tw.key(comments["length"], "length", fmt.Sprint(r.Length))
	}
	tw.key(comments["port_range"], "port_range", tomlString(fmt.Sprintf("%d-%d", r.PortLo, r.PortHi)))
	protos := make([]string, len(r.Protos))
	for i, p := range r.Protos {
		protos[i] = p.String()
	}
	tw.key(comments["protocols"], "protocols", tomlString(strings.Join(protos, ",")))
	if !message {
		tw.key(comments["bind_source"], "bind_source", fmt.Sprint(r.BindSource))
		tw.key(comments["reply"], "reply", fmt.Sprint(r.Reply))
	}
}

// DefaultMaxBytes is a message door's max_bytes when the config does not
// say: a line of text.
const DefaultMaxBytes = 256

// messageKind reads a door's kind and, for a message door, max_bytes. A
// message door is a rotating door's keys, period, skew, range and
// protocols with texts instead of a sequence (package message).
func (d *tomlDecoder) messageKind(i int, f *tomlFile) *knock.MessageDoor {
	raw := f.Door[i]
	at := func(key string) setting { return d.doorSetting(i, f, key) }
	var kind string
	if !at("kind").str(raw.Kind, &kind) || kind == "sequence" {
		return nil
	}
	if kind != "message" {
		at("kind").bad("kind = %q: give \"sequence\" (the default) or \"message\"", kind)
		return nil
	}
	for key, v := range map[string]any{"length": raw.Length, "bind_source": raw.BindSource, "reply": raw.Reply} {
		if v != nil {
			at(key).bad("%s: a message door has no %s: its knocks carry the text, in any order", doorLabel(f, i), key)
		}
	}
	m := &knock.MessageDoor{MaxBytes: DefaultMaxBytes}
	at("max_bytes").integer(raw.MaxBytes, &m.MaxBytes, 1, message.MaxBytes)
	var play string
	if at("play").str(raw.Play, &play) {
		switch play {
		case "morse":
			m.Morse = true
		case "":
		default:
			at("play").bad("play = %q: give \"morse\" to play each text as Morse code, or leave it out", play)
		}
	}
	return m
}

// notMessage refuses the keys of message doors on a door of another kind.
func (d *tomlDecoder) notMessage(i int, f *tomlFile) {
	raw := f.Door[i]
	at := func(key string) setting { return d.doorSetting(i, f, key) }
	var kind string
	switch {
	case raw.SecretFile == nil && raw.UserKeys == nil && raw.FleetUsers == nil && at("kind").str(raw.Kind, &kind) && kind == "message":
		at("kind").bad("%s: a message door needs secret_file: its key authenticates the texts", doorLabel(f, i))
	case raw.SecretFile == nil && raw.UserKeys == nil && raw.FleetUsers == nil && raw.Kind != nil && kind != "sequence":
		at("kind").bad("kind = %q: give \"sequence\" (the default) or \"message\"", kind)
	case raw.MaxBytes != nil:
		at("max_bytes").bad("%s: max_bytes is a setting of message doors: give kind = \"message\" too, or remove it", doorLabel(f, i))
	case raw.Play != nil:
		at("play").bad("%s: play is a setting of message doors: give kind = \"message\" too, or remove it", doorLabel(f, i))
	}
}

// validateMessage checks what a message door can do: its range must
// carry max_bytes; it runs a command per text, so it has no firewall sets
// and no stop command. A text's source address is not authenticated (the
// tag covers the text, not who sent it: an observer can replay a text's
// knocks from its own address before the sender finishes), so a message
// door must not open anything for that address.
func validateMessage(p *problems, at locator, i int, label string, d knock.Door) {
	r, m := d.Rotating, d.Message
	if r.UserKeys != "" || r.FleetUsers {
		p.add(at.doorLine(i, "user_keys"), "%s: a message door takes secret_file, one key for its senders, not users' keys", label)
	}
	if len(d.Open) > 0 {
		p.add(at.doorLine(i, "open"), "%s: a message door opens no firewall set: the tag authenticates the text, not the address it came from", label)
	}
	for key, cmd := range map[string]knock.Command{"stop_command": d.Stop, "stop_command_6": d.Stop6} {
		if !cmd.IsZero() {
			p.add(at.doorLine(i, key), "%s: a message door runs its start command once per text and has no %s", label, key)
		}
	}
	sh := portlang.Shape{Length: 1, Lo: r.PortLo, Hi: r.PortHi, Protos: r.Protos}
	if sh.Check() != nil {
		return // validateRotating says what is wrong with the range
	}
	if n := (int(r.PortHi-r.PortLo) + 1) * len(r.Protos); n > message.MaxSymbols {
		p.add(at.doorLine(i, "port_range"), "%s: port_range %d-%d with %d protocols makes %d knock values, more than a message door uses (%d): narrow the range or use one protocol",
			label, r.PortLo, r.PortHi, len(r.Protos), n, message.MaxSymbols)
		return
	}
	if max := message.MaxText(sh, message.MaxParity); m.MaxBytes > max {
		p.add(at.doorLine(i, "max_bytes"), "%s: max_bytes = %d: port_range %d-%d carries at most %d bytes (with the most parity knocks): widen the range, add a protocol, or lower max_bytes",
			label, m.MaxBytes, r.PortLo, r.PortHi, max)
	}
}

// message writes a message door's keys.
func (tw *tomlWriter) message(m *knock.MessageDoor, comments map[string][]string) {
	tw.key(comments["kind"], "kind", tomlString("message"))
	tw.key(comments["max_bytes"], "max_bytes", fmt.Sprint(m.MaxBytes))
	if m.Morse {
		tw.key(comments["play"], "play", tomlString("morse"))
	}
}

// messagePlaceholder says what is wrong with %MESSAGE% in cmd, a command
// of door d, if anything. The text is anyone's who holds the key, so it
// may only ever be one whole argument: in an argv command %MESSAGE% must
// be an argument by itself (inside another, "sh -c 'echo %MESSAGE%'"
// would run it as shell text), and a shell command must quote the
// environment's copy itself ("$KNOCK_MESSAGE"), as %MESSAGE% cannot be
// placed safely in every spot of a shell string. Doors that are not
// message doors have no text.
func messagePlaceholder(d knock.Door, cmd knock.Command) string {
	const ph = "%MESSAGE%"
	for _, arg := range cmd.Argv {
		if !strings.Contains(arg, ph) {
			continue
		}
		switch {
		case d.Message == nil:
			return ph + " is the text of a message door (kind = \"message\"); this door has none"
		case cmd.Shell:
			return ph + " cannot go into a shell command safely: write \"$KNOCK_MESSAGE\" (with the double quotes) where the text goes"
		case arg != ph:
			return ph + " must be an argument by itself (e.g. [\"/usr/bin/logger\", \"-t\", \"knock\", \"%MESSAGE%\"]): inside " + strconvQuote(arg) + " it could become part of another program's syntax"
		}
	}
	return ""
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }
