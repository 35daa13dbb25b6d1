package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/firewall"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/sequence"
)

// A locator finds the line a setting came from, for error messages. Doors
// are numbered in file order, disabled ones included; key "" is the door's
// own line (its [[door]] or [section] header).
type locator interface {
	// topLine is the line of a global setting or table ("music",
	// "tone_port"), or of the table it would be in when it is not written.
	topLine(path ...string) int
	// topLineExact is the line of a global setting, 0 when not written.
	topLineExact(path ...string) int
	doorLine(door int, key string) int
}

// noLines is the locator of a Config built in code.
type noLines struct{}

func (noLines) topLine(...string) int      { return 0 }
func (noLines) topLineExact(...string) int { return 0 }
func (noLines) doorLine(int, string) int   { return 0 }

// Validate checks c as a whole: every value in range, door names unique,
// music ports clear of the doors' ports. It is what Parse runs after
// decoding, for a Config changed in code afterwards (command-line flags).
func (c *Config) Validate() error {
	p := &problems{}
	c.validate(p, noLines{})
	return p.err()
}

// A fileDoor is a door in file order, enabled or not.
type fileDoor struct {
	knock.Door
	disabled bool
	reason   string // why it is disabled
}

// allDoors returns the enabled and disabled doors merged back into file
// order (DisabledDoor.Index), which is what doors are numbered by.
func (c *Config) allDoors() []fileDoor {
	disabled := slices.Clone(c.Disabled)
	slices.SortStableFunc(disabled, func(a, b DisabledDoor) int { return cmp.Compare(a.Index, b.Index) })
	all := make([]fileDoor, 0, len(c.Doors)+len(disabled))
	enabled := c.Doors
	for _, d := range disabled {
		for len(all) < d.Index && len(enabled) > 0 {
			all = append(all, fileDoor{Door: enabled[0]})
			enabled = enabled[1:]
		}
		all = append(all, fileDoor{Door: d.Door, disabled: true, reason: d.Reason})
	}
	for _, d := range enabled {
		all = append(all, fileDoor{Door: d})
	}
	return all
}

func (c *Config) validate(p *problems, at locator) {
	if err := checkInterfaces(c.Interfaces); err != nil {
		p.add(at.topLine("interfaces"), "interfaces: %v", err)
	}
	if err := checkSpeaker(c.Speaker); err != nil {
		p.add(at.topLine("speaker"), "speaker: %v", err)
	}
	if c.StateDir == "" {
		p.add(at.topLine("state_dir"), "state_dir is empty: give the directory for pools and played songs (default %s)", Default().StateDir)
	}
	if c.MaxAttempts < 1 {
		p.add(at.topLine("max_attempts"), "max_attempts = %d: must be at least 1", c.MaxAttempts)
	}
	c.Log.validate(p, at)
	c.Music.validate(p, at)
	if c.Cluster.Enabled() {
		for _, pr := range c.Cluster.Problems() {
			line := at.topLine("cluster")
			if pr.Key != "" {
				line = at.topLine("cluster", pr.Key)
			}
			p.add(line, "[cluster] %s", pr.Msg)
		}
	}

	var music func(uint16) (string, bool)
	switch r := c.Music.Rotating; {
	case c.Music.Enabled && r != nil:
		music = func(port uint16) (string, bool) {
			return fmt.Sprintf("port_range %d-%d of [music]", r.PortLo, r.PortHi), port >= r.PortLo && port <= r.PortHi
		}
	case c.Music.Enabled:
		music = func(port uint16) (string, bool) {
			if e := c.Music.EnsemblePort; e != 0 && port == e {
				return "ensemble_port", true
			}
			return musicPortName(c.Music.Protocol, port)
		}
	}
	firstLine := map[string]int{}
	for i, fd := range c.allDoors() {
		d := fd.Door
		if !fd.disabled && len(d.Sequence) == 0 && d.Rotating == nil {
			p.add(at.doorLine(i, ""), "%s has no sequence: give sequence, one_time_sequences or secret_file", doorName(i, d))
		}
		c.validateDoor(p, at, i, d, music)
		switch {
		case d.Fleet && !c.Cluster.Enabled():
			p.add(at.doorLine(i, "fleet"), "%s: fleet = true needs a [cluster] table: a door opens across a fleet only on a host that is in one", doorName(i, d))
		case d.Rotating != nil && d.Rotating.FleetUsers && !c.Cluster.Enabled():
			p.add(at.doorLine(i, "fleet_users"), "%s: fleet_users = true needs a [cluster] table: the users' keys live in the fleet", doorName(i, d))
		case d.Fleet && d.Message != nil:
			p.add(at.doorLine(i, "fleet"), "%s: a message door cannot be a fleet door: its text is delivered where it was knocked; remove fleet", doorName(i, d))
		}
		if d.Name == "" {
			continue
		}
		if first, dup := firstLine[d.Name]; dup {
			where := ""
			if first > 0 {
				where = fmt.Sprintf(" (first on line %d)", first)
			}
			p.add(at.doorLine(i, "name"), "door %q is defined twice%s: door names must be unique", d.Name, where)
			continue
		}
		firstLine[d.Name] = at.doorLine(i, "name")
	}
	c.validateRanges(p, at, music)
	for _, d := range c.Disabled {
		if d.Reason == "" {
			p.add(at.doorLine(d.Index, ""), "door %q is disabled without a reason", d.Door.Name)
		}
	}
}

// doorName names a door in messages, by number when it has no name.
func doorName(i int, d knock.Door) string {
	if d.Name == "" {
		return fmt.Sprintf("door #%d", i+1)
	}
	return fmt.Sprintf("door %q", d.Name)
}

func checkInterfaces(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "any":
			return fmt.Errorf(`"any" means every interface: give it alone, or list interfaces by name`)
		case n == "":
			return fmt.Errorf("empty interface name")
		case len(n) > 15 || strings.ContainsAny(n, "/ \t\n:"):
			// IFNAMSIZ is 16 with the NUL on Linux and FreeBSD; ':' is an alias label.
			return fmt.Errorf("%q is not an interface name", n)
		case seen[n]:
			return fmt.Errorf("%q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// normalizeInterfaces turns a list that only says "any" into the empty
// list that means it.
func normalizeInterfaces(names []string) []string {
	if len(names) == 1 && names[0] == "any" {
		return nil
	}
	return names
}

// checkSpeaker checks the syntax of a speaker spec with beeper's parser,
// adding a suggestion for a misspelt kind; whether the device exists is
// for the daemon to find out when it opens it.
func checkSpeaker(spec string) error {
	_, err := beeper.ParseSpec(spec)
	var bad *beeper.SpecError
	if !errors.As(err, &bad) {
		return err
	}
	if bad.Unknown {
		kind, _, _ := strings.Cut(spec, ":")
		return fmt.Errorf("unknown speaker %q%s: use %s", spec, suggest(kind, beeper.SpecKinds()), beeper.SpecForms)
	}
	return errors.New(bad.Problem)
}

func (l Log) validate(p *problems, at locator) {
	switch l.Format {
	case LogText, LogJSON, LogKnockd:
	default:
		p.add(at.topLine("log", "format"), "[log] format = %q: use %q, %q or %q%s", l.Format, LogText, LogJSON, LogKnockd,
			suggest(l.Format, []string{LogText, LogJSON, LogKnockd}))
	}
	if !l.Stderr && !l.Syslog && l.File == "" {
		p.add(at.topLine("log"), "[log] sends the log nowhere: set stderr = true, syslog = true or file = PATH")
	}
}

func (m Music) validate(p *problems, at locator) {
	if r := m.Rotating; r != nil {
		line := func(key string) int { return at.topLine("music", key) }
		if len(r.SecretFiles) == 0 {
			p.add(line("secret_file"), "[music]: period, skew, port_range and protocols are settings of songs under a secret: give secret_file too, or remove them")
			return
		}
		checkRotating(p, line, "[music]", r)
		if sh := portlang.ShapeOf(r); sh.Check() == nil && message.MaxText(sh, 0) < MinSongBytes {
			def := DefaultRotating()
			def.Protos = r.Protos
			p.add(line("port_range"), "[music] port_range %d-%d carries songs of at most %d bytes: give a wider range (the default %d-%d carries %d)",
				r.PortLo, r.PortHi, message.MaxText(sh, 0), def.PortLo, def.PortHi, message.MaxText(portlang.ShapeOf(&def), 0))
		}
	}
	protoProblems := checkProtocol(m.Protocol)
	for _, e := range protoProblems {
		// The first of the keys involved that the file sets.
		line := at.topLine("music", e.keys[0])
		for _, k := range e.keys {
			if l := at.topLineExact("music", k); l > 0 {
				line = l
				break
			}
		}
		p.add(line, "[music] %s", e.msg)
	}
	if e := m.EnsemblePort; e != 0 && len(protoProblems) == 0 {
		if name, ok := musicPortName(m.Protocol, e); ok {
			p.add(at.topLine("music", "ensemble_port"), "[music] ensemble_port = %d is also the %s: give it a port of its own (or 0 for no ensemble knock)", e, name)
		}
	}
	switch m.Pools {
	case PoolsPerSource, PoolsShared:
	default:
		p.add(at.topLine("music", "pools"), "[music] pools = %q: use %q or %q", m.Pools, PoolsPerSource, PoolsShared)
	}
	if m.MaxPoolSteps < 1 {
		p.add(at.topLine("music", "max_steps"), "[music] max_steps = %d: must be at least 1", m.MaxPoolSteps)
	}
	if m.MaxPools < 1 {
		p.add(at.topLine("music", "max_pools"), "[music] max_pools = %d: must be at least 1", m.MaxPools)
	}
	if m.QueueLen < 0 {
		p.add(at.topLine("music", "queue"), "[music] queue = %d: must be 0 or more", m.QueueLen)
	}
	if m.RefusalLogInterval <= 0 {
		p.add(at.topLine("music", "refusal_log_interval"), "[music] refusal_log_interval = %q: must be more than 0", m.RefusalLogInterval)
	}
	if m.KeepPlayed < 0 {
		p.add(at.topLine("music", "keep_played"), "[music] keep_played = %d: must be 0 or more", m.KeepPlayed)
	}
	if m.PoolIdleTimeout < 0 {
		p.add(at.topLine("music", "pool_idle_timeout"), "[music] pool_idle_timeout = %q: must be 0s (never) or more", m.PoolIdleTimeout)
	}
	if m.KeepPlayedMiB < 0 {
		p.add(at.topLine("music", "keep_played_mib"), "[music] keep_played_mib = %d: must be 0 or more", m.KeepPlayedMiB)
	}
	for _, pfx := range m.Allow {
		if err := checkPrefix(pfx); err != nil {
			p.add(at.topLine("music", "allow"), "[music] allow: %v", err)
		}
	}
}

func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("invalid network %v", p)
	}
	if p != p.Masked() {
		return fmt.Errorf("%v has bits set past the prefix length: did you mean %v?", p, p.Masked())
	}
	return nil
}

// A keyProblem is a problem and the settings involved, the one that
// reads as wrong first.
type keyProblem struct {
	keys []string
	msg  string
}

// checkProtocol reports what is wrong with a music protocol, by key. It
// applies sequence's limits, as Protocol.Validate does, and words each
// problem with the key to change.
func checkProtocol(pr sequence.Protocol) []keyProblem {
	var out []keyProblem
	pitchHi := int(pr.PitchBase) + sequence.PitchPorts - 1
	ports := []struct {
		key  string
		port uint16
	}{{"tone_port", pr.TonePort}, {"silence_port", pr.SilencePort}, {"play_port", pr.PlayPort}}
	for i, a := range ports {
		if a.port == 0 {
			out = append(out, keyProblem{[]string{a.key}, fmt.Sprintf("%s = 0: must be a port 1-65535", a.key)})
			continue
		}
		for _, b := range ports[:i] {
			if a.port == b.port {
				out = append(out, keyProblem{[]string{a.key, b.key}, fmt.Sprintf("%s = %d is also %s: the music ports must differ", a.key, a.port, b.key)})
			}
		}
		if pr.PitchBase != 0 && a.port >= pr.PitchBase && int(a.port) <= pitchHi {
			out = append(out, keyProblem{[]string{a.key, "pitch_base"}, fmt.Sprintf("%s = %d is inside the pitch ports %d-%d (pitch_base = %d)",
				a.key, a.port, pr.PitchBase, pitchHi, pr.PitchBase)})
		}
	}
	if pr.PitchBase != 0 && pitchHi > 65535 {
		out = append(out, keyProblem{[]string{"pitch_base"}, fmt.Sprintf("pitch_base = %d: the pitch ports run to pitch_base+%d, at most 65535, so it must be at most %d (or 0 for no pitch knocks)",
			pr.PitchBase, sequence.PitchPorts-1, 65536-sequence.PitchPorts)})
	}
	if pr.NoteBase != 0 {
		hi := int(pr.NoteBase) + sequence.NotePorts - 1
		if hi > 65535 {
			out = append(out, keyProblem{[]string{"note_base"}, fmt.Sprintf("note_base = %d: the note ports run to note_base+%d, at most 65535, so it must be at most %d (or 0 for no note knocks)",
				pr.NoteBase, sequence.NotePorts-1, 65536-sequence.NotePorts)})
		}
		for _, a := range ports {
			if a.port >= pr.NoteBase && int(a.port) <= hi {
				out = append(out, keyProblem{[]string{a.key, "note_base"}, fmt.Sprintf("%s = %d is inside the note ports %d-%d (note_base = %d)", a.key, a.port, pr.NoteBase, hi, pr.NoteBase)})
			}
		}
		if pr.PitchBase != 0 && pitchHi >= int(pr.NoteBase) && int(pr.PitchBase) <= hi {
			out = append(out, keyProblem{[]string{"pitch_base", "note_base"}, fmt.Sprintf("the pitch ports %d-%d overlap the note ports %d-%d: move pitch_base or note_base",
				pr.PitchBase, pitchHi, pr.NoteBase, hi)})
		}
		if pr.NoteUnit < sequence.MinNoteUnit || pr.NoteUnit > sequence.MaxNoteUnit {
			out = append(out, keyProblem{[]string{"note_unit"}, fmt.Sprintf("note_unit = %q: must be %v-%v", pr.NoteUnit, sequence.MinNoteUnit, sequence.MaxNoteUnit)})
		}
	}
	switch {
	case pr.Step < sequence.MinStep:
		out = append(out, keyProblem{[]string{"step"}, fmt.Sprintf("step = %q: must be at least %v", pr.Step, sequence.MinStep)})
	case pr.Step > sequence.MaxStepLength:
		out = append(out, keyProblem{[]string{"step"}, fmt.Sprintf("step = %q: must be at most %v", pr.Step, sequence.MaxStepLength)})
	}
	if !(pr.DefaultFreq >= sequence.MinDefaultFreq && pr.DefaultFreq <= sequence.MaxFreq) {
		out = append(out, keyProblem{[]string{"default_freq"}, fmt.Sprintf("default_freq = %g: must be %g-%g Hz", pr.DefaultFreq, sequence.MinDefaultFreq, sequence.MaxFreq)})
	}
	return out
}

// musicPortName names port when the music protocol uses it.
func musicPortName(pr sequence.Protocol, port uint16) (string, bool) {
	k, ok := pr.Classify(port)
	if !ok {
		return "", false
	}
	switch k.Kind {
	case sequence.KnockTone:
		return "tone_port", true
	case sequence.KnockSilence:
		return "silence_port", true
	case sequence.KnockPlay:
		return "play_port", true
	case sequence.KnockPitch:
		return fmt.Sprintf("pitch port (pitch_base %d + note %d)", pr.PitchBase, k.Note), true
	}
	return fmt.Sprintf("note port (note_base %d + %d; note knocks take %d-%d)", pr.NoteBase, port-pr.NoteBase, pr.NoteBase, int(pr.NoteBase)+sequence.NotePorts-1), true
}

// validateDoor checks door i; music names the music ports it is given,
// nil when the music doors are off.
func (c *Config) validateDoor(p *problems, at locator, i int, d knock.Door, music func(uint16) (string, bool)) {
	label := doorName(i, d)
	if d.Name == "" {
		p.add(at.doorLine(i, ""), "%s has no name: every door needs a unique name", label)
	} else if strings.ContainsFunc(d.Name, isControl) {
		p.add(at.doorLine(i, "name"), "%s: the name has control characters", label)
	}
	if len(d.Sequence) > MaxSequenceLength {
		p.add(at.doorLine(i, "sequence"), "%s: sequence has %d ports, at most %d are allowed", label, len(d.Sequence), MaxSequenceLength)
	}
	for _, st := range d.Sequence {
		if st.Port == 0 || (st.Proto != knock.TCP && st.Proto != knock.UDP) {
			p.add(at.doorLine(i, "sequence"), "%s: invalid step %v/%v: ports are 1-65535, tcp or udp", label, st.Port, st.Proto)
		}
	}
	const allFlags = knock.FIN | knock.SYN | knock.RST | knock.PSH | knock.ACK | knock.URG
	if d.Flags.Set&d.Flags.Clear != 0 || (d.Flags.Set|d.Flags.Clear)&^allFlags != 0 {
		p.add(at.doorLine(i, "tcpflags"), "%s: tcpflags asks for flags both set and clear, or unknown flags", label)
	}
	if d.Timeout <= 0 {
		p.add(at.doorLine(i, "timeout"), "%s: timeout = %q: must be more than 0", label, d.Timeout)
	}
	if d.TimeoutMode != knock.TimeoutFromFirst && d.TimeoutMode != knock.TimeoutGap {
		p.add(at.doorLine(i, "timeout_mode"), "%s: unknown timeout mode %d", label, d.TimeoutMode)
	}
	if d.Cooldown < 0 {
		p.add(at.doorLine(i, "cooldown"), "%s: cooldown = %q: must be 0 or more", label, d.Cooldown)
	}
	if d.StopDelay < 0 {
		p.add(at.doorLine(i, "cmd_timeout"), "%s: cmd_timeout = %q: must be 0 or more", label, d.StopDelay)
	}
	if d.CommandTimeout < 0 {
		p.add(at.doorLine(i, "command_timeout"), "%s: command_timeout = %q: must be 0s (no limit) or more", label, d.CommandTimeout)
	}
	for _, t := range d.Targets {
		if !t.IsValid() {
			p.add(at.doorLine(i, "target"), "%s: invalid target address", label)
		}
	}
	c.validateCommands(p, at, i, label, d)
	for _, spec := range d.Open {
		if _, err := firewall.ParseSpec(spec); err != nil {
			p.add(at.doorLine(i, "open"), "%s: open: %v", label, strings.TrimPrefix(err.Error(), "firewall: "))
		}
	}
	switch {
	case len(d.Open) > 0 && d.OpenFor <= 0:
		p.add(at.doorLine(i, "open_for"), "%s: open lists firewall sets, so open_for must say how long a knocker stays in them (e.g. open_for = \"1h\")", label)
	case len(d.Open) == 0 && d.OpenFor != 0:
		p.add(at.doorLine(i, "open_for"), "%s: open_for without open: list the firewall sets in open", label)
	}
	if d.Rotating != nil {
		validateRotating(p, at, i, label, d.Rotating)
		if d.Message != nil {
			validateMessage(p, at, i, label, d)
			if d.Message.Morse && !c.Music.Enabled {
				p.add(at.doorLine(i, "play"), "%s: play = \"morse\" plays on the music doors' speaker, and [music] is off: enable it, or leave play out", label)
			}
		}
	}
	reported := map[uint16]bool{}
	for _, st := range d.Sequence {
		if music == nil {
			break
		}
		if name, clash := music(st.Port); clash && st.Proto == knock.TCP && !reported[st.Port] {
			reported[st.Port] = true
			p.add(at.doorLine(i, "sequence"), "%s: port %d/tcp is also the music %s: choose another port for the door, or move the music ports in [music]",
				label, st.Port, name)
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (c *Config) validateCommands(p *problems, at locator, i int, label string, d knock.Door) {
	cmds := []struct {
		key string
		cmd knock.Command
	}{{"start_command", d.Start}, {"start_command_6", d.Start6}, {"stop_command", d.Stop}, {"stop_command_6", d.Stop6}}
	shells := map[bool]string{}
	for _, k := range cmds {
		if k.cmd.IsZero() {
			continue
		}
		shells[k.cmd.Shell] = k.key
		switch {
		case k.cmd.Shell && len(k.cmd.Argv) != 1:
			p.add(at.doorLine(i, k.key), "%s: %s runs through the shell, so it must be one string", label, k.key)
		case k.cmd.Argv[0] == "":
			p.add(at.doorLine(i, k.key), "%s: %s has an empty program name", label, k.key)
		}
	}
	if len(shells) == 2 {
		p.add(at.doorLine(i, shells[true]), "%s: %s runs through the shell but %s does not: a door's commands all use the shell (shell = true) or none do",
			label, shells[true], shells[false])
	}
	for _, k := range cmds {
		if msg := messagePlaceholder(d, k.cmd); msg != "" {
			p.add(at.doorLine(i, k.key), "%s: %s: %s", label, k.key, msg)
		}
	}
}
