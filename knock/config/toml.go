package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
)

// The TOML document as BurntSushi/toml sees it. Every setting is decoded
// into `any` and converted by hand: the library's own type errors cannot
// tell one [[door]] from another, while ours name the door and the line.
// The tables stay structs so that MetaData.Undecoded reports unknown keys.
type tomlFile struct {
	Interfaces  any          `toml:"interfaces"`
	Speaker     any          `toml:"speaker"`
	StateDir    any          `toml:"state_dir"`
	PidFile     any          `toml:"pid_file"`
	MaxAttempts any          `toml:"max_attempts"`
	RateLimit   any          `toml:"rate_limit"`
	RateBurst   any          `toml:"rate_burst"`
	Log         *tomlLog     `toml:"log"`
	Music       *tomlMusic   `toml:"music"`
	HTTP        *tomlHTTP    `toml:"http"`
	Cluster     *tomlCluster `toml:"cluster"`
	Door        []tomlDoor   `toml:"door"`
}

type tomlHTTP struct {
	Listen any `toml:"listen"`
}

// tomlCluster is the [cluster] table; its keys are fleetconfig.Config's.
type tomlCluster struct {
	Name          any `toml:"name"`
	NodeKey       any `toml:"node_key"`
	Trust         any `toml:"trust"`
	NATS          any `toml:"nats"`
	Credentials   any `toml:"credentials"`
	TLSCA         any `toml:"tls_ca"`
	Serve         any `toml:"serve"`
	Routes        any `toml:"routes"`
	ClusterListen any `toml:"cluster_listen"`
	ServerProgram any `toml:"server_program"`
	Replicas      any `toml:"replicas"`
}

type tomlLog struct {
	Level  any `toml:"level"`
	Format any `toml:"format"`
	Stderr any `toml:"stderr"`
	Syslog any `toml:"syslog"`
	File   any `toml:"file"`
}

type tomlMusic struct {
	Enabled            any `toml:"enabled"`
	TonePort           any `toml:"tone_port"`
	SilencePort        any `toml:"silence_port"`
	PlayPort           any `toml:"play_port"`
	PitchBase          any `toml:"pitch_base"`
	NoteBase           any `toml:"note_base"`
	NoteUnit           any `toml:"note_unit"`
	Step               any `toml:"step"`
	DefaultFreq        any `toml:"default_freq"`
	Pools              any `toml:"pools"`
	MaxPoolSteps       any `toml:"max_steps"`
	MaxPools           any `toml:"max_pools"`
	Allow              any `toml:"allow"`
	Queue              any `toml:"queue"`
	RefusalLogInterval any `toml:"refusal_log_interval"`
	KeepPlayed         any `toml:"keep_played"`
	KeepPlayedMiB      any `toml:"keep_played_mib"`
	MorseWPM           any `toml:"morse_wpm"`
	EnsemblePort       any `toml:"ensemble_port"`
	PoolIdleTimeout    any `toml:"pool_idle_timeout"`
	SecretFile         any `toml:"secret_file"`
	Period             any `toml:"period"`
	Skew               any `toml:"skew"`
	PortRange          any `toml:"port_range"`
	Protocols          any `toml:"protocols"`
}

type tomlDoor struct {
	Name             any `toml:"name"`
	Sequence         any `toml:"sequence"`
	OneTimeSequences any `toml:"one_time_sequences"`
	SecretFile       any `toml:"secret_file"`
	UserKeys         any `toml:"user_keys"`
	FleetUsers       any `toml:"fleet_users"`
	Period           any `toml:"period"`
	Skew             any `toml:"skew"`
	Length           any `toml:"length"`
	PortRange        any `toml:"port_range"`
	Protocols        any `toml:"protocols"`
	BindSource       any `toml:"bind_source"`
	Reply            any `toml:"reply"`
	Play             any `toml:"play"`
	Kind             any `toml:"kind"`
	MaxBytes         any `toml:"max_bytes"`
	TCPFlags         any `toml:"tcpflags"`
	Timeout          any `toml:"timeout"`
	TimeoutMode      any `toml:"timeout_mode"`
	AllowDuplicates  any `toml:"allow_duplicates"`
	Cooldown         any `toml:"cooldown"`
	Target           any `toml:"target"`
	Shell            any `toml:"shell"`
	StartCommand     any `toml:"start_command"`
	StartCommand6    any `toml:"start_command_6"`
	StopCommand      any `toml:"stop_command"`
	StopCommand6     any `toml:"stop_command_6"`
	CmdTimeout       any `toml:"cmd_timeout"`
	CommandTimeout   any `toml:"command_timeout"`
	Reopen           any `toml:"reopen"`
	Open             any `toml:"open"`
	OpenFor          any `toml:"open_for"`
	Fleet            any `toml:"fleet"`
}

// tomlKeys lists the keys valid in each table ("" is the top level), read
// from the structs above so that the two cannot disagree.
var tomlKeys = map[string][]string{
	"":        tagsOf(tomlFile{}),
	"log":     tagsOf(tomlLog{}),
	"http":    tagsOf(tomlHTTP{}),
	"cluster": tagsOf(tomlCluster{}),
	"music":   tagsOf(tomlMusic{}),
	"door":    tagsOf(tomlDoor{}),
}

// tagsOf returns the toml tag names of a struct's fields, in order.
func tagsOf(v any) []string {
	t := reflect.TypeOf(v)
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		names = append(names, name)
	}
	return names
}

// tomlDecoder turns a TOML document into a Config, collecting problems.
type tomlDecoder struct {
	p    *problems
	text string
	ix   keyIndex
	// misspelt holds, per door, the keys an unknown key was taken for:
	// "sequense" already explains why the door has no sequence.
	misspelt map[int]map[string]bool
	warnings []string // Config.Warnings
}

func (d *tomlDecoder) topLine(path ...string) int      { return d.ix.line(-1, path...) }
func (d *tomlDecoder) topLineExact(path ...string) int { return d.ix.exactLine(-1, path...) }
func (d *tomlDecoder) doorLine(i int, key string) int  { return d.ix.line(i, "door", key) }

func parseTOML(name string, data []byte) (*Config, error) {
	d := &tomlDecoder{p: &problems{file: name}, text: string(data)}
	var f tomlFile
	md, err := toml.Decode(d.text, &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			d.p.add(pe.Position.Line, "%s", pe.Message)
			return nil, d.p.err()
		}
		// The document parsed but a table is not a table (log = 1,
		// [door] instead of [[door]]): say which.
		d.ix = scanKeys(d.text)
		d.shapeProblems()
		return nil, d.p.err()
	}
	d.ix = scanKeys(d.text)
	d.unknownKeys(md, &f)
	c := d.config(&f)
	if err := d.p.err(); err != nil {
		return nil, err
	}
	c.validate(d.p, d)
	if err := d.p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// shapeProblems explains a document whose tables have the wrong shape.
func (d *tomlDecoder) shapeProblems() {
	var m map[string]any
	if _, err := toml.Decode(d.text, &m); err != nil {
		d.p.add(0, "%v", err)
		return
	}
	for _, key := range []string{"log", "music", "http", "cluster"} {
		if v, ok := m[key]; ok {
			if _, table := v.(map[string]any); !table {
				d.p.add(d.topLine(key), "%s must be a table ([%s]), not %s", key, key, typeName(v))
			}
		}
	}
	if v, ok := m["door"]; ok {
		if _, tables := v.([]map[string]any); !tables {
			d.p.add(d.topLine("door"), "door must be written [[door]] (one per door), not %s", typeName(v))
		}
	}
	if len(d.p.list) == 0 {
		d.p.add(0, "the document does not have the shape of a knockbeepd config")
	}
}

// unknownKeys reports every key that is not a setting, with the closest
// valid key as a suggestion. BurntSushi/toml also matches keys ignoring
// case; TOML keys are case-sensitive, so those are reported too.
func (d *tomlDecoder) unknownKeys(md toml.MetaData, f *tomlFile) {
	unknown := md.Undecoded()
	for _, key := range md.Keys() {
		table, name := splitKey(key)
		valid := validKeys(table)
		if len(key) <= 2 && !slices.Contains(valid, name) &&
			slices.ContainsFunc(valid, func(v string) bool { return strings.EqualFold(v, name) }) {
			unknown = append(unknown, key)
		}
	}
	done := map[string]bool{}
	for _, key := range unknown {
		table, name := splitKey(key)
		if len(key) > 2 || (table == "" && len(key) > 1) {
			// Inside the value of a valid key (speaker = {x = 1}): that
			// value's type error says what is wrong.
			if slices.Contains(validKeys(table), name) {
				continue
			}
		}
		path := []string{name}
		if table != "" {
			path = []string{table, name}
		}
		id := strings.Join(path, "\x00")
		if done[id] {
			continue
		}
		done[id] = true
		// Once per door (or once outside doors): an unknown table's
		// header and the keys under it are one mistake.
		seenDoor := map[int]bool{}
		for _, at := range d.ix.under(path) {
			if seenDoor[at.door] {
				continue
			}
			seenDoor[at.door] = true
			d.unknownKey(at.line, at.door, f, table, name)
		}
		if len(seenDoor) == 0 {
			d.unknownKey(0, -1, f, table, name)
		}
	}
}

// splitKey tells which table a key is in ("" for the top level, when the
// key's first part is not one of the tables) and its name there.
func splitKey(key toml.Key) (table, name string) {
	if len(key) > 1 && (key[0] == "log" || key[0] == "music" || key[0] == "door" || key[0] == "http" || key[0] == "cluster") {
		return key[0], key[1]
	}
	return "", key[0]
}

// validKeys lists the keys valid in a table ("" for the top level, whose
// keys include the tables).
func validKeys(table string) []string {
	return tomlKeys[table]
}

func (d *tomlDecoder) unknownKey(line, door int, f *tomlFile, table, name string) {
	var where string
	switch {
	case table == "door" && door >= 0:
		where = doorLabel(f, door) + ": "
	case table != "":
		where = "[" + table + "] "
	}
	hint, meant := suggestion(name, validKeys(table))
	if meant != "" && table == "door" {
		if d.misspelt == nil {
			d.misspelt = map[int]map[string]bool{}
		}
		if d.misspelt[door] == nil {
			d.misspelt[door] = map[string]bool{}
		}
		d.misspelt[door][meant] = true
	}
	d.p.add(line, "%sunknown key %q%s", where, name, hint)
}

func doorLabel(f *tomlFile, i int) string {
	if i < len(f.Door) {
		if name, ok := f.Door[i].Name.(string); ok && name != "" {
			return fmt.Sprintf("door %q", name)
		}
	}
	return fmt.Sprintf("door #%d", i+1)
}

// config converts the decoded document, starting from Default.
func (d *tomlDecoder) config(f *tomlFile) *Config {
	c := Default()
	c.Source = FormatTOML
	top := func(key string) setting { return setting{d: d, line: d.topLine(key), label: key} }
	if f.Interfaces != nil {
		if names, ok := top("interfaces").strings(f.Interfaces); ok {
			c.Interfaces = normalizeInterfaces(names)
		}
	}
	top("speaker").str(f.Speaker, &c.Speaker)
	top("state_dir").str(f.StateDir, &c.StateDir)
	top("pid_file").str(f.PidFile, &c.PidFile)
	top("max_attempts").integer(f.MaxAttempts, &c.MaxAttempts, 1, math.MaxInt32)
	top("rate_limit").integer(f.RateLimit, &c.RateLimit, 0, 1_000_000)
	top("rate_burst").integer(f.RateBurst, &c.RateBurst, 0, 1_000_000)
	if f.Log != nil {
		d.log(f.Log, &c.Log)
	}
	if f.Music != nil {
		d.music(f.Music, &c.Music)
	} else if len(f.Door) > 0 {
		// A config written for doors opens no music ports to everyone
		// unless it asks for them with a [music] table.
		c.Music.Enabled = false
	}
	if f.HTTP != nil {
		(setting{d: d, line: d.topLine("http", "listen"), label: "[http] listen"}).str(f.HTTP.Listen, &c.HTTP.Listen)
	}
	if f.Cluster != nil {
		d.cluster(f.Cluster, &c.Cluster)
	}
	for i := range f.Door {
		door, disabled := d.door(i, f)
		if disabled != "" {
			c.Disabled = append(c.Disabled, DisabledDoor{Index: i, Door: door, Reason: disabled})
		} else {
			c.Doors = append(c.Doors, door)
		}
	}
	c.Warnings = d.warnings
	return c
}

// cluster converts the [cluster] table. A table that is written is a
// fleet even when its keys are missing: validate then says which.
func (d *tomlDecoder) cluster(f *tomlCluster, c *fleetconfig.Config) {
	at := func(key string) setting {
		return setting{d: d, line: d.topLine("cluster", key), label: "[cluster] " + key}
	}
	at("name").str(f.Name, &c.Name)
	at("node_key").str(f.NodeKey, &c.NodeKey)
	at("trust").str(f.Trust, &c.Trust)
	if f.NATS != nil {
		c.NATS, _ = at("nats").strings(f.NATS)
	}
	at("credentials").str(f.Credentials, &c.Credentials)
	at("tls_ca").str(f.TLSCA, &c.TLSCA)
	at("serve").str(f.Serve, &c.Serve)
	if f.Routes != nil {
		c.Routes, _ = at("routes").strings(f.Routes)
	}
	at("cluster_listen").str(f.ClusterListen, &c.ClusterListen)
	at("server_program").str(f.ServerProgram, &c.ServerProgram)
	at("replicas").integer(f.Replicas, &c.Replicas, 0, math.MaxInt32)
	if *f == (tomlCluster{}) {
		d.p.add(d.topLine("cluster"), "[cluster] is empty: give at least name, node_key, trust and nats or serve, or remove the table")
	}
}

func (d *tomlDecoder) log(f *tomlLog, l *Log) {
	at := func(key string) setting {
		return setting{d: d, line: d.topLine("log", key), label: "[log] " + key}
	}
	if f.Level != nil {
		var s string
		if at("level").str(f.Level, &s) {
			var lv slog.Level
			if err := lv.UnmarshalText([]byte(s)); err != nil {
				at("level").bad("level = %q: use debug, info, warn or error", s)
			} else {
				l.Level = lv
			}
		}
	}
	at("format").str(f.Format, &l.Format)
	at("stderr").boolean(f.Stderr, &l.Stderr)
	at("syslog").boolean(f.Syslog, &l.Syslog)
	at("file").str(f.File, &l.File)
}

func (d *tomlDecoder) music(f *tomlMusic, m *Music) {
	at := func(key string) setting {
		return setting{d: d, line: d.topLine("music", key), label: "[music] " + key}
	}
	at("enabled").boolean(f.Enabled, &m.Enabled)
	at("tone_port").port(f.TonePort, &m.Protocol.TonePort, 1)
	at("silence_port").port(f.SilencePort, &m.Protocol.SilencePort, 1)
	at("play_port").port(f.PlayPort, &m.Protocol.PlayPort, 1)
	at("pitch_base").port(f.PitchBase, &m.Protocol.PitchBase, 0)
	at("note_base").port(f.NoteBase, &m.Protocol.NoteBase, 0)
	at("note_unit").duration(f.NoteUnit, &m.Protocol.NoteUnit)
	at("step").duration(f.Step, &m.Protocol.Step)
	at("default_freq").float(f.DefaultFreq, &m.Protocol.DefaultFreq)
	var pools string
	if at("pools").str(f.Pools, &pools) {
		m.Pools = PoolMode(pools)
	}
	at("max_steps").integer(f.MaxPoolSteps, &m.MaxPoolSteps, 1, math.MaxInt32)
	at("max_pools").integer(f.MaxPools, &m.MaxPools, 1, math.MaxInt32)
	at("queue").integer(f.Queue, &m.QueueLen, 0, math.MaxInt32)
	at("refusal_log_interval").duration(f.RefusalLogInterval, &m.RefusalLogInterval)
	at("keep_played").integer(f.KeepPlayed, &m.KeepPlayed, 0, math.MaxInt32)
	at("keep_played_mib").integer(f.KeepPlayedMiB, &m.KeepPlayedMiB, 0, math.MaxInt32)
	at("pool_idle_timeout").duration(f.PoolIdleTimeout, &m.PoolIdleTimeout)
	at("morse_wpm").integer(f.MorseWPM, &m.MorseWPM, 5, 60)
	at("ensemble_port").port(f.EnsemblePort, &m.EnsemblePort, 0)
	if f.SecretFile != nil || f.Period != nil || f.Skew != nil || f.PortRange != nil || f.Protocols != nil {
		m.Rotating = readRotating(at, rotatingFields{SecretFile: f.SecretFile, Period: f.Period, Skew: f.Skew, PortRange: f.PortRange, Protocols: f.Protocols})
	}
	if f.Allow != nil {
		if list, ok := at("allow").strings(f.Allow); ok {
			m.Allow = []netip.Prefix{}
			for _, s := range list {
				p, err := parsePrefix(s)
				if err != nil {
					at("allow").bad("%v", err)
					continue
				}
				m.Allow = append(m.Allow, p)
			}
			if len(m.Allow) == 0 {
				m.Allow = nil
			}
		}
	}
}

// parsePrefix reads a network ("10.0.0.0/8", "::1/128") or one address.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a network or an address (e.g. \"192.0.2.0/24\", \"2001:db8::/32\")", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network (e.g. \"192.0.2.0/24\", \"2001:db8::/32\")", s)
	}
	return p, checkPrefix(p)
}

// door converts the i-th [[door]]. A one-time door whose file has no
// sequence to offer comes back with the reason it is disabled.
func (d *tomlDecoder) door(i int, f *tomlFile) (knock.Door, string) {
	raw := f.Door[i]
	at := func(key string) setting { return d.doorSetting(i, f, key) }
	label := doorLabel(f, i)
	door := defaultDoor()
	if raw.Name == nil && !d.misspelt[i]["name"] {
		d.p.add(d.doorLine(i, ""), "%s has no name: every door needs a unique name", label)
	}
	at("name").str(raw.Name, &door.Name)

	var disabled string
	switch {
	case raw.Sequence != nil && raw.OneTimeSequences != nil:
		d.p.add(d.doorLine(i, "one_time_sequences"), "%s has both sequence and one_time_sequences: keep one", label)
	case raw.SecretFile != nil && (raw.Sequence != nil || raw.OneTimeSequences != nil):
		d.p.add(d.doorLine(i, "secret_file"), "%s has secret_file and a sequence: a rotating door derives its sequences from the secret; keep one", label)
	case raw.UserKeys != nil && (raw.Sequence != nil || raw.OneTimeSequences != nil):
		d.p.add(d.doorLine(i, "user_keys"), "%s has user_keys and a sequence: a rotating door derives its sequences from its users' keys; keep one", label)
	case raw.UserKeys != nil && raw.SecretFile != nil:
		d.p.add(d.doorLine(i, "user_keys"), "%s has user_keys and secret_file: give one secret for everyone, or a directory of users' keys, not both", label)
	case raw.FleetUsers == true && (raw.SecretFile != nil || raw.UserKeys != nil || raw.Sequence != nil || raw.OneTimeSequences != nil):
		d.p.add(d.doorLine(i, "fleet_users"), "%s has fleet_users and another source of its sequence: the fleet's users' keys are its keys; remove secret_file, user_keys or the sequence", label)
	case raw.SecretFile != nil || raw.UserKeys != nil || raw.FleetUsers == true:
		door.Rotating = d.rotating(i, f)
		door.Message = d.messageKind(i, f)
	case raw.Sequence != nil:
		door.Sequence = at("sequence").sequence(raw.Sequence)
	case raw.OneTimeSequences != nil:
		if at("one_time_sequences").str(raw.OneTimeSequences, &door.OneTimeFile) {
			steps, warnings, err := OneTime{Path: door.OneTimeFile}.Current()
			d.warnings = append(d.warnings, warnings...)
			if err != nil {
				disabled = err.Error()
			}
			door.Sequence = steps
		}
	case d.misspelt[i]["sequence"] || d.misspelt[i]["one_time_sequences"] || d.misspelt[i]["secret_file"] || d.misspelt[i]["user_keys"]:
	default:
		d.p.add(d.doorLine(i, ""), "%s has no sequence: give sequence = [\"7000\", \"8000:udp\", \"9000\"], one_time_sequences = FILE or secret_file = FILE", label)
	}
	if door.Message == nil {
		d.notMessage(i, f)
	}
	if door.Rotating == nil {
		given := map[string]any{"period": raw.Period, "skew": raw.Skew, "length": raw.Length,
			"port_range": raw.PortRange, "protocols": raw.Protocols, "bind_source": raw.BindSource, "reply": raw.Reply}
		for _, key := range rotatingKeys {
			if given[key] != nil {
				d.p.add(d.doorLine(i, key), "%s: %s is a setting of rotating doors: give secret_file too, or remove it", label, key)
			}
		}
	}

	var flags string
	if at("tcpflags").str(raw.TCPFlags, &flags) {
		m, err := parseTCPFlags(flags)
		if err != nil {
			at("tcpflags").bad("%v", err)
		}
		door.Flags = m
	}
	at("timeout").duration(raw.Timeout, &door.Timeout)
	var mode string
	if at("timeout_mode").str(raw.TimeoutMode, &mode) {
		switch mode {
		case "first":
			door.TimeoutMode = knock.TimeoutFromFirst
		case "gap":
			door.TimeoutMode = knock.TimeoutGap
		default:
			at("timeout_mode").bad("timeout_mode = %q: use \"first\" (from the first knock, as knockd) or \"gap\" (between knocks)", mode)
		}
	}
	at("allow_duplicates").boolean(raw.AllowDuplicates, &door.AllowDuplicates)
	at("cooldown").duration(raw.Cooldown, &door.Cooldown)
	if raw.Target != nil {
		if list, ok := at("target").strings(raw.Target); ok {
			for _, s := range list {
				a, err := netip.ParseAddr(s)
				if err != nil {
					at("target").bad("%q is not an IP address", s)
					continue
				}
				door.Targets = append(door.Targets, a)
			}
		}
	}
	var shell bool
	at("shell").boolean(raw.Shell, &shell)
	door.Start = at("start_command").command(raw.StartCommand, shell)
	door.Start6 = at("start_command_6").command(raw.StartCommand6, shell)
	door.Stop = at("stop_command").command(raw.StopCommand, shell)
	door.Stop6 = at("stop_command_6").command(raw.StopCommand6, shell)
	at("cmd_timeout").duration(raw.CmdTimeout, &door.StopDelay)
	at("command_timeout").duration(raw.CommandTimeout, &door.CommandTimeout)
	at("reopen").boolean(raw.Reopen, &door.Reopen)
	if raw.Open != nil {
		if list, ok := at("open").strings(raw.Open); ok {
			door.Open = list
		}
	}
	at("open_for").duration(raw.OpenFor, &door.OpenFor)
	at("fleet").boolean(raw.Fleet, &door.Fleet)
	return door, disabled
}

// doorSetting is key of the i-th [[door]].
func (d *tomlDecoder) doorSetting(i int, f *tomlFile, key string) setting {
	return setting{d: d, line: d.doorLine(i, key), label: doorLabel(f, i) + ": " + key}
}

// A setting converts one TOML value, reporting problems at its line under
// its label ("[music] step", `door "ssh": timeout`).
type setting struct {
	d     *tomlDecoder
	line  int
	label string
}

func (s setting) bad(format string, args ...any) {
	s.d.p.add(s.line, "%s: %s", s.label, fmt.Sprintf(format, args...))
}

func (s setting) wrongType(want string, v any) {
	s.bad("want %s, not %s", want, typeName(v))
}

// str stores a string value in *dst; it reports whether v was one.
func (s setting) str(v any, dst *string) bool {
	if v == nil {
		return false
	}
	str, ok := v.(string)
	if !ok {
		s.wrongType("a string", v)
		return false
	}
	*dst = str
	return true
}

// strings reads a string or an array of strings.
func (s setting) strings(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			str, ok := item.(string)
			if !ok {
				s.wrongType("a string or an array of strings", item)
				return nil, false
			}
			out = append(out, str)
		}
		return out, true
	}
	s.wrongType("a string or an array of strings", v)
	return nil, false
}

func (s setting) boolean(v any, dst *bool) {
	if v == nil {
		return
	}
	b, ok := v.(bool)
	if !ok {
		s.wrongType("true or false", v)
		return
	}
	*dst = b
}

func (s setting) integer(v any, dst *int, lo, hi int64) {
	if v == nil {
		return
	}
	n, ok := v.(int64)
	if !ok {
		s.wrongType("an integer", v)
		return
	}
	if n < lo || n > hi {
		s.bad("%d is out of range %d-%d", n, lo, hi)
		return
	}
	*dst = int(n)
}

// port reads a port number; lo is 0 where 0 means "off".
func (s setting) port(v any, dst *uint16, lo int64) {
	if v == nil {
		return
	}
	n, ok := v.(int64)
	if !ok {
		s.wrongType("a port number", v)
		return
	}
	if n < lo || n > 65535 {
		s.bad("port %d is out of range %d-65535", n, lo)
		return
	}
	*dst = uint16(n)
}

func (s setting) float(v any, dst *float64) {
	switch v := v.(type) {
	case nil:
	case int64:
		*dst = float64(v)
	case float64:
		*dst = v
	default:
		s.wrongType("a number", v)
	}
}

// duration reads a Go duration string ("25s", "1m30s", "100ms").
func (s setting) duration(v any, dst *time.Duration) {
	if v == nil {
		return
	}
	str, ok := v.(string)
	if !ok {
		if _, isNumber := v.(int64); isNumber {
			s.bad("%v has no unit: write a duration such as \"%vs\" or \"%vms\"", v, v, v)
			return
		}
		s.wrongType("a duration such as \"25s\"", v)
		return
	}
	dur, err := time.ParseDuration(str)
	if err != nil {
		s.bad("%q is not a duration: write a number and a unit, such as \"25s\", \"1m30s\" or \"100ms\"", str)
		return
	}
	*dst = dur
}

// sequence reads "7000,8000:udp" or ["7000", "8000:udp"] or [7000, 8000].
func (s setting) sequence(v any) []knock.Step {
	var steps []knock.Step
	var err error
	switch v := v.(type) {
	case string:
		steps, err = parseSequence(v)
	case []any:
		if len(v) == 0 || len(v) > MaxSequenceLength {
			err = fmt.Errorf("%d ports: give 1 to %d", len(v), MaxSequenceLength)
			break
		}
		for _, item := range v {
			var st knock.Step
			switch item := item.(type) {
			case string:
				st, err = parseStep(item)
			case int64:
				if item < 1 || item > 65535 {
					err = fmt.Errorf("port %d is out of range 1-65535", item)
				}
				st = knock.Step{Proto: knock.TCP, Port: uint16(item)}
			default:
				err = fmt.Errorf("want ports such as \"7000\" or \"8000:udp\", not %s", typeName(item))
			}
			if err != nil {
				break
			}
			steps = append(steps, st)
		}
	default:
		err = fmt.Errorf("want an array such as [\"7000\", \"8000:udp\"] or a string \"7000,8000:udp\", not %s", typeName(v))
	}
	if err != nil {
		s.bad("%v", err)
		return nil
	}
	return steps
}

// command reads an argv array, or with shell a string for /bin/sh -c.
func (s setting) command(v any, shell bool) knock.Command {
	switch v := v.(type) {
	case nil:
		return knock.Command{}
	case string:
		if !shell {
			s.bad("a string is run through /bin/sh only with shell = true; otherwise give the program and its arguments as an array, e.g. [\"/usr/sbin/nft\", \"add\", \"element\", ...]")
			return knock.Command{}
		}
		if strings.TrimSpace(v) == "" {
			s.bad("empty command")
			return knock.Command{}
		}
		return knock.Command{Argv: []string{v}, Shell: true}
	case []any:
		if shell {
			s.bad("with shell = true a command is one string for /bin/sh -c, not an array")
			return knock.Command{}
		}
		argv, ok := s.strings(v)
		if !ok {
			return knock.Command{}
		}
		if len(argv) == 0 || argv[0] == "" {
			s.bad("empty command: the array starts with the program to run")
			return knock.Command{}
		}
		return knock.Command{Argv: argv}
	}
	s.wrongType("an array of strings (program and arguments)", v)
	return knock.Command{}
}

// typeName names a decoded TOML value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("%T", v)
}
