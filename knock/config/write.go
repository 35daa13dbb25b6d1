package config

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// WriteTOML writes c as a TOML config that parses back to c (Source
// aside): every global setting explicitly, and for each door the settings
// it uses. Disabled doors are written too, each under a comment saying
// why. This is what --check prints and what --convert is built on.
func (c *Config) WriteTOML(w io.Writer) error {
	return c.writeTOML(w, nil)
}

func (c *Config) writeTOML(w io.Writer, comments *commentMap) error {
	if comments == nil {
		comments = &commentMap{}
	}
	var b bytes.Buffer
	tw := &tomlWriter{b: &b}
	tw.comments(comments.top)

	ifaces := c.Interfaces
	if len(ifaces) == 0 {
		ifaces = []string{"any"}
	}
	tw.key(comments.options["interfaces"], "interfaces", tomlStrings(ifaces))
	tw.key(nil, "speaker", tomlString(c.Speaker))
	tw.key(nil, "state_dir", tomlString(c.StateDir))
	tw.key(comments.options["pid_file"], "pid_file", tomlString(c.PidFile))
	tw.key(nil, "max_attempts", strconv.Itoa(c.MaxAttempts))
	tw.key(nil, "rate_limit", strconv.Itoa(c.RateLimit))
	tw.key(nil, "rate_burst", strconv.Itoa(c.RateBurst))

	b.WriteString("\n[http]\n")
	tw.key(nil, "listen", tomlString(c.HTTP.Listen))

	b.WriteString("\n[log]\n")
	tw.key(nil, "level", tomlString(strings.ToLower(c.Log.Level.String())))
	tw.key(nil, "format", tomlString(c.Log.Format))
	tw.key(nil, "stderr", strconv.FormatBool(c.Log.Stderr))
	tw.key(comments.options["log.syslog"], "syslog", strconv.FormatBool(c.Log.Syslog))
	tw.key(comments.options["log.file"], "file", tomlString(c.Log.File))

	m := c.Music
	b.WriteString("\n[music]\n")
	tw.key(nil, "enabled", strconv.FormatBool(m.Enabled))
	tw.key(nil, "tone_port", strconv.Itoa(int(m.Protocol.TonePort)))
	tw.key(nil, "silence_port", strconv.Itoa(int(m.Protocol.SilencePort)))
	tw.key(nil, "play_port", strconv.Itoa(int(m.Protocol.PlayPort)))
	tw.key(nil, "pitch_base", strconv.Itoa(int(m.Protocol.PitchBase)))
	tw.key(nil, "note_base", strconv.Itoa(int(m.Protocol.NoteBase)))
	tw.key(nil, "note_unit", tomlDuration(m.Protocol.NoteUnit))
	tw.key(nil, "step", tomlDuration(m.Protocol.Step))
	tw.key(nil, "default_freq", tomlFloat(m.Protocol.DefaultFreq))
	tw.key(nil, "pools", tomlString(string(m.Pools)))
	tw.key(nil, "max_steps", strconv.Itoa(m.MaxPoolSteps))
	tw.key(nil, "max_pools", strconv.Itoa(m.MaxPools))
	allow := make([]string, len(m.Allow))
	for i, p := range m.Allow {
		allow[i] = p.String()
	}
	tw.key(nil, "allow", tomlStrings(allow))
	tw.key(nil, "queue", strconv.Itoa(m.QueueLen))
	tw.key(nil, "refusal_log_interval", tomlDuration(m.RefusalLogInterval))
	tw.key(nil, "keep_played", strconv.Itoa(m.KeepPlayed))
	tw.key(nil, "keep_played_mib", strconv.Itoa(m.KeepPlayedMiB))
	tw.key(nil, "pool_idle_timeout", tomlDuration(m.PoolIdleTimeout))
	tw.key(nil, "morse_wpm", strconv.Itoa(m.MorseWPM))
	tw.key(nil, "ensemble_port", strconv.Itoa(int(m.EnsemblePort)))
	if m.Rotating != nil {
		tw.rotating(m.Rotating, true, nil) // [music] has a message door's rotating keys
	}

	if cl := c.Cluster; cl.Enabled() {
		b.WriteString("\n[cluster]\n")
		opt := func(key, value string) {
			if value != "" {
				tw.key(nil, key, tomlString(value))
			}
		}
		opt("name", cl.Name)
		opt("node_key", cl.NodeKey)
		opt("trust", cl.Trust)
		if len(cl.NATS) > 0 {
			tw.key(nil, "nats", tomlStrings(cl.NATS))
		}
		opt("credentials", cl.Credentials)
		opt("tls_ca", cl.TLSCA)
		opt("serve", cl.Serve)
		if len(cl.Routes) > 0 {
			tw.key(nil, "routes", tomlStrings(cl.Routes))
		}
		opt("cluster_listen", cl.ClusterListen)
		opt("server_program", cl.ServerProgram)
		if cl.Replicas != 0 {
			tw.key(nil, "replicas", strconv.Itoa(cl.Replicas))
		}
	}

	for i, d := range c.allDoors() {
		b.WriteString("\n")
		var doorComments map[string][]string
		if comments.doors != nil {
			doorComments = comments.doors[i]
		}
		tw.comments(doorComments[""])
		if d.disabled {
			tw.comments([]string{"# disabled: " + d.reason})
		}
		b.WriteString("[[door]]\n")
		tw.door(d.Door, doorComments)
	}
	tw.comments(comments.trailing)
	_, err := w.Write(b.Bytes())
	return err
}

type tomlWriter struct {
	b       *bytes.Buffer
	pending []string // comments whose key is not written, for the next key
}

// comments writes comment lines, made safe for TOML (valid UTF-8, no
// control characters but tab).
func (tw *tomlWriter) comments(lines []string) {
	for _, c := range lines {
		if c == "" {
			tw.b.WriteByte('\n')
			continue
		}
		c = strings.ToValidUTF8(c, "\uFFFD")
		c = strings.Map(func(r rune) rune {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return '\uFFFD'
			}
			return r
		}, c)
		if !strings.HasPrefix(c, "#") {
			c = "# " + c
		}
		tw.b.WriteString(c)
		tw.b.WriteByte('\n')
	}
}

func (tw *tomlWriter) key(comments []string, key, value string) {
	tw.comments(tw.pending)
	tw.pending = nil
	tw.comments(comments)
	fmt.Fprintf(tw.b, "%s = %s\n", key, value)
}

// skip keeps the comments of a key that is not written for the next one.
func (tw *tomlWriter) skip(comments []string) {
	tw.pending = append(tw.pending, comments...)
}

// door writes d's settings.
func (tw *tomlWriter) door(d knock.Door, comments map[string][]string) {
	tw.key(comments["name"], "name", tomlString(d.Name))
	if d.Rotating != nil {
		tw.rotating(d.Rotating, d.Message != nil, comments)
		if d.Message != nil {
			tw.message(d.Message, comments)
		}
	} else if d.OneTimeFile != "" {
		tw.skip(comments["sequence"])
		tw.key(comments["one_time_sequences"], "one_time_sequences", tomlString(d.OneTimeFile))
	} else {
		steps := make([]string, len(d.Sequence))
		for i, st := range d.Sequence {
			steps[i] = formatStep(st)
		}
		tw.key(comments["sequence"], "sequence", tomlStrings(steps))
	}
	optional := func(key string, write bool, value string) {
		if write {
			tw.key(comments[key], key, value)
		} else {
			tw.skip(comments[key])
		}
	}
	optional("tcpflags", d.Flags != (knock.FlagMatch{}), tomlString(formatTCPFlags(d.Flags)))
	tw.key(comments["timeout"], "timeout", tomlDuration(d.Timeout))
	optional("timeout_mode", d.TimeoutMode == knock.TimeoutGap, tomlString("gap"))
	optional("allow_duplicates", d.AllowDuplicates, "true")
	optional("cooldown", d.Cooldown != 0, tomlDuration(d.Cooldown))
	targets := make([]string, len(d.Targets))
	for i, a := range d.Targets {
		targets[i] = a.String()
	}
	optional("target", len(targets) > 0, tomlStrings(targets))
	shell := false
	for _, cmd := range []knock.Command{d.Start, d.Start6, d.Stop, d.Stop6} {
		shell = shell || cmd.Shell
	}
	optional("shell", shell, "true")
	optional("start_command", !d.Start.IsZero(), tomlCommand(d.Start))
	optional("start_command_6", !d.Start6.IsZero(), tomlCommand(d.Start6))
	optional("stop_command", !d.Stop.IsZero(), tomlCommand(d.Stop))
	optional("stop_command_6", !d.Stop6.IsZero(), tomlCommand(d.Stop6))
	hasStop := !d.Stop.IsZero() || !d.Stop6.IsZero()
	optional("cmd_timeout", hasStop || d.StopDelay != DefaultStopDelay, tomlDuration(d.StopDelay))
	optional("command_timeout", d.CommandTimeout != DefaultCommandTimeout, tomlDuration(d.CommandTimeout))
	optional("reopen", d.Reopen, "true")
	optional("open", len(d.Open) > 0, tomlStrings(d.Open))
	optional("open_for", len(d.Open) > 0, tomlDuration(d.OpenFor))
	optional("fleet", d.Fleet, "true")
	tw.comments(tw.pending)
	tw.pending = nil
}

func tomlCommand(c knock.Command) string {
	if c.Shell && len(c.Argv) == 1 {
		return tomlString(c.Argv[0])
	}
	return tomlStrings(c.Argv)
}

// tomlString quotes s as a TOML basic string. Go's %q is not TOML: it
// writes \x.. and \a escapes that TOML 1.0 lacks.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlStrings(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = tomlString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func tomlDuration(d time.Duration) string { return tomlString(d.String()) }

// tomlFloat writes f so that TOML reads it back as the same float.
func tomlFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	switch s {
	case "NaN":
		return "nan"
	case "+Inf":
		return "inf"
	case "-Inf":
		return "-inf"
	}
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
