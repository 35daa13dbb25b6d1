package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/internal/buildinfo"
	"github.com/knockbeep/knockbeep/internal/errtext"
	"github.com/knockbeep/knockbeep/internal/getopt"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/firewall"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// Exit statuses of knockbeepd, listed in the usage text.
const (
	ExitOK      = 0
	ExitFailure = 1 // the daemon could not start or failed while running
	ExitUsage   = 2 // bad command line
	ExitConfig  = 3 // the config file cannot be read or is not valid
	ExitBroken  = 4 // --audit-verify found breaks in the fleet's audit chain
)

// commandLine is what the flags say.
type commandLine struct {
	configPath string
	interfaces []string
	speaker    string
	stateDir   string
	pidFile    string
	logFile    string
	check      bool
	strict     bool
	debug      bool
	verbose    bool
	onlyIPv4   bool
	lookup     bool
	replay     string
	demo       bool
	demoSong   string
	demoNotes  bool
	convert    string
	genkey     string
	genkeyMode bool   // --genkey given; its FILE is genkey, a value or the operand
	ed25519    bool   // --genkey writes a fleet node key, not a door's secret
	auditCheck bool   // --audit-verify
	userAdd    string // --user-add NAME: its key file is the operand
	userKey    string
	userRevoke string
	showSeq    string
	showFor    netip.Addr // --for: the knocker a bound door's sequence is shown for
	help       bool
	version    bool
}

// An option is one flag: its short and long names, whether it takes a
// value, and what it does.
type option struct {
	short byte
	long  string
	value getopt.Value
	set   func(c *commandLine, value string) error
}

var options = []option{
	{'c', "config", getopt.RequiredValue, func(c *commandLine, v string) error { c.configPath = v; return nil }},
	{'i', "interface", getopt.RequiredValue, func(c *commandLine, v string) error { c.interfaces = append(c.interfaces, v); return nil }},
	{0, "speaker", getopt.RequiredValue, func(c *commandLine, v string) error { c.speaker = v; return nil }},
	{0, "state-dir", getopt.RequiredValue, func(c *commandLine, v string) error { c.stateDir = v; return nil }},
	{0, "check", getopt.NoValue, func(c *commandLine, _ string) error { c.check = true; return nil }},
	{0, "strict", getopt.NoValue, func(c *commandLine, _ string) error { c.strict = true; return nil }},
	{'D', "debug", getopt.NoValue, func(c *commandLine, _ string) error { c.debug = true; return nil }},
	{'v', "verbose", getopt.NoValue, func(c *commandLine, _ string) error { c.verbose = true; return nil }},
	{0, "replay", getopt.RequiredValue, func(c *commandLine, v string) error { c.replay = v; return nil }},
	// --demo SONG takes SONG as an operand, --demo=SONG as a value.
	{0, "demo", getopt.OptionalValue, func(c *commandLine, v string) error {
		c.demo = true
		if v != "" {
			c.demoSong = v
		}
		return nil
	}},
	{0, "notes", getopt.NoValue, func(c *commandLine, _ string) error { c.demoNotes = true; return nil }},
	{0, "convert", getopt.RequiredValue, func(c *commandLine, v string) error { c.convert = v; return nil }},
	// --genkey FILE takes FILE as an operand, so that --genkey --ed25519
	// FILE reads as it is written; --genkey=FILE as a value.
	{0, "genkey", getopt.OptionalValue, func(c *commandLine, v string) error { c.genkeyMode, c.genkey = true, v; return nil }},
	{0, "ed25519", getopt.NoValue, func(c *commandLine, _ string) error { c.ed25519 = true; return nil }},
	{0, "audit-verify", getopt.NoValue, func(c *commandLine, _ string) error { c.auditCheck = true; return nil }},
	{0, "user-add", getopt.RequiredValue, func(c *commandLine, v string) error { c.userAdd = v; return nil }},
	{0, "user-revoke", getopt.RequiredValue, func(c *commandLine, v string) error { c.userRevoke = v; return nil }},
	{0, "show-sequence", getopt.RequiredValue, func(c *commandLine, v string) error { c.showSeq = v; return nil }},
	{0, "for", getopt.RequiredValue, func(c *commandLine, v string) error {
		a, err := netip.ParseAddr(v)
		if err != nil || a.IsUnspecified() {
			return fmt.Errorf("--for %q: give the knocker's IP address, e.g. 203.0.113.5", v)
		}
		c.showFor = a.Unmap().WithZone("")
		return nil
	}},
	{'p', "pidfile", getopt.RequiredValue, func(c *commandLine, v string) error { c.pidFile = v; return nil }},
	{'g', "logfile", getopt.RequiredValue, func(c *commandLine, v string) error { c.logFile = v; return nil }},
	{'4', "only-ip-v4", getopt.NoValue, func(c *commandLine, _ string) error { c.onlyIPv4 = true; return nil }},
	{'l', "lookup", getopt.NoValue, func(c *commandLine, _ string) error { c.lookup = true; return nil }},
	{'V', "version", getopt.NoValue, func(c *commandLine, _ string) error { c.version = true; return nil }},
	{'h', "help", getopt.NoValue, func(c *commandLine, _ string) error { c.help = true; return nil }},
	{'d', "daemon", getopt.NoValue, func(*commandLine, string) error { return errDaemonize }},
}

// getoptOptions are options as getopt.Parse reads them.
var getoptOptions = func() []getopt.Option {
	specs := make([]getopt.Option, len(options))
	for i, o := range options {
		specs[i] = getopt.Option{Short: o.short, Long: o.long, Value: o.value}
	}
	return specs
}()

var errDaemonize = errors.New("-d (--daemon) is not supported: a Go program cannot fork itself into the background safely.\n" +
	"Run knockbeepd in the foreground under a service manager, which also restarts it and collects its log:\n" +
	"  systemd:  configs/knockbeepd.service (install as /etc/systemd/system/knockbeepd.service)\n" +
	"  FreeBSD:  configs/rc.d/knockbeepd (install as /usr/local/etc/rc.d/knockbeepd; it uses daemon(8))")

// parseArgs reads GNU-style flags, as knockd's getopt_long does (package
// getopt): "-c FILE", "-cFILE", "--config FILE", "--config=FILE", grouped
// short flags "-Dv", and "--" ending the flags.
func parseArgs(args []string) (commandLine, error) {
	var c commandLine
	operands, err := getopt.Parse(args, getoptOptions, func(i int, _, value string) error {
		return options[i].set(&c, value)
	})
	if err != nil {
		return c, err
	}
	switch {
	case c.demo && len(operands) == 1 && c.demoSong == "":
		c.demoSong = operands[0]
	case len(operands) > 0 && c.demo:
		return c, fmt.Errorf("--demo takes one song at most, got %q", operands)
	case c.genkeyMode && len(operands) == 1 && c.genkey == "":
		c.genkey = operands[0]
	case c.genkeyMode && len(operands) > 0:
		return c, fmt.Errorf("--genkey writes one key file, got %q", operands)
	case c.userAdd != "" && len(operands) == 1:
		c.userKey = operands[0]
	case c.userAdd != "" && len(operands) > 1:
		return c, fmt.Errorf("--user-add NAME takes one key file, got %q", operands)
	case len(operands) > 0:
		return c, fmt.Errorf("unexpected argument %q: knockbeepd takes only options (a song goes after --demo, a key file after --genkey)", operands[0])
	}
	switch {
	case c.genkeyMode && c.genkey == "":
		return c, errors.New("--genkey needs the file to write the key to: --genkey FILE, or --genkey --ed25519 FILE for a fleet node's key")
	case c.ed25519 && !c.genkeyMode:
		return c, errors.New("--ed25519 goes with --genkey: --genkey --ed25519 FILE writes a fleet node's key")
	}
	modes := 0
	if c.strict && !c.check {
		return c, errors.New("--strict goes with --check: it makes its warnings fail the check")
	}
	for _, m := range []bool{c.check, c.demo, c.convert != "", c.replay != "", c.genkeyMode, c.showSeq != "", c.auditCheck, c.userAdd != "", c.userRevoke != ""} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return c, errors.New("--check, --demo, --convert, --replay, --genkey, --show-sequence, --audit-verify, --user-add and --user-revoke exclude each other: give one")
	}
	switch {
	case c.auditCheck && c.configPath == "":
		return c, errors.New("--audit-verify needs -c FILE: the config whose [cluster] table names the fleet")
	case (c.userAdd != "" || c.userRevoke != "") && c.configPath == "":
		return c, errors.New("--user-add and --user-revoke need -c FILE: the config whose [cluster] table names the fleet")
	case c.userAdd != "" && c.userKey == "":
		return c, errors.New("--user-add NAME needs the user's key file: --user-add NAME KEYFILE (knockbeepd --genkey KEYFILE makes one)")
	}
	if c.showFor.IsValid() && c.showSeq == "" {
		return c, errors.New("--for goes with --show-sequence: it names the knocker whose sequence a door with bind_source shows")
	}
	if c.demoNotes && !c.demo {
		return c, errors.New("--notes goes with --demo: it knocks the demo's song one knock per note")
	}
	if c.demo && (c.configPath != "" || len(c.interfaces) > 0) {
		return c, errors.New("--demo runs on loopback with the built-in config: leave out -c and -i")
	}
	return c, nil
}

// override returns the function that applies the command line to every
// config read, at start and on reload.
func (c commandLine) override() func(*config.Config) {
	return func(cfg *config.Config) {
		if len(c.interfaces) > 0 {
			cfg.Interfaces = c.interfaces
			if len(c.interfaces) == 1 && c.interfaces[0] == capture.Any {
				cfg.Interfaces = nil
			}
		}
		if c.speaker != "" {
			cfg.Speaker = c.speaker
		}
		if c.stateDir != "" {
			cfg.StateDir = c.stateDir
		}
		if c.pidFile != "" {
			cfg.PidFile = c.pidFile
		}
		if c.logFile != "" {
			cfg.Log.File = c.logFile
			if cfg.Source == config.FormatKnockd {
				// knockd's -g: its log file, in its format, instead of
				// the terminal.
				cfg.Log.Format = config.LogKnockd
				cfg.Log.Stderr = false
			}
		}
		if c.verbose {
			cfg.Log.Stderr = true
			cfg.Log.Level = min(cfg.Log.Level, slog.LevelInfo)
		}
		if c.debug {
			cfg.Log.Stderr = true
			cfg.Log.Level = slog.LevelDebug
		}
	}
}

// Main is knockbeepd: args are the arguments after the program name, and
// each value on reload is a SIGHUP. It returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, reload <-chan struct{}) int {
	c, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s\nRun 'knockbeepd --help' for usage.\n", errtext.Lines("knockbeepd: ", err))
		return ExitUsage
	}
	switch {
	case c.help:
		io.WriteString(stdout, usage)
		return ExitOK
	case c.version:
		fmt.Fprintf(stdout, "knockbeepd (knockbeep) %s\n", buildinfo.Version())
		return ExitOK
	case c.convert != "":
		return convert(c.convert, stdout, stderr)
	case c.genkeyMode && c.ed25519:
		return genNodeKey(c.genkey, stdout, stderr)
	case c.genkeyMode:
		if err := portlang.WriteKeyFile(c.genkey); err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --genkey: %v\n", err)
			return ExitFailure
		}
		fmt.Fprintf(stdout, "knockbeepd: a new key is in %s (mode 0600); give it to the door's clients over a channel you trust\n", c.genkey)
		return ExitOK
	case c.demo:
		if err := Demo(ctx, DemoOptions{Song: c.demoSong, Notes: c.demoNotes, Speaker: c.speaker, StateDir: c.stateDir, Verbose: c.verbose, Debug: c.debug}, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
			if _, badSong := errors.AsType[*demoSongError](err); badSong {
				return ExitUsage
			}
			return ExitFailure
		}
		return ExitOK
	}

	tempStateDir := ""
	if c.replay != "" && c.stateDir == "" {
		// A replay must not write pools and songs into the live daemon's
		// state directory, nor load its pools.
		dir, err := os.MkdirTemp("", "knockbeepd-replay-")
		if err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --replay: creating a state directory: %v (give one with --state-dir)\n", err)
			return ExitFailure
		}
		c.stateDir, tempStateDir = dir, dir
	}
	cfg, err := LoadConfig(c.configPath, c.override())
	if err != nil {
		if tempStateDir != "" {
			os.Remove(tempStateDir)
		}
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
		return ExitConfig
	}
	if tempStateDir != "" {
		fmt.Fprintf(stderr, "knockbeepd: --replay: pools and played songs go to %s (a new directory; --state-dir chooses another)\n", tempStateDir)
		defer keepOrRemoveReplayDir(tempStateDir, stderr)
	}
	if c.check {
		return check(cfg, c, stdout, stderr)
	}
	if c.showSeq != "" {
		return showSequence(cfg, c.showSeq, c.showFor, time.Now(), stdout, stderr)
	}
	if c.auditCheck {
		return auditVerify(ctx, cfg, c.debug, stdout, stderr)
	}
	if c.userAdd != "" || c.userRevoke != "" {
		return changeUser(ctx, cfg, c, stdout, stderr)
	}
	opts := Options{ConfigPath: c.configPath, Override: c.override(), OnlyIPv4: c.onlyIPv4, Reload: reload, Stderr: stderr}
	if c.replay != "" {
		f, err := os.Open(c.replay)
		if err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --replay: %v\n", err)
			return ExitFailure
		}
		defer f.Close()
		opts.Replay = f
	}
	d, err := New(cfg, opts)
	if err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
		return ExitFailure
	}
	if c.lookup {
		d.log.Info("daemon: -l (DNS lookups) is accepted for knockd's sake and ignored: the log shows addresses, and a lookup per knock would let knockers stall the daemon")
	}
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
		return ExitFailure
	}
	return ExitOK
}

// keepOrRemoveReplayDir removes --replay's temporary state directory
// unless a song was played into it, which the user will want to hear.
func keepOrRemoveReplayDir(dir string, stderr io.Writer) {
	if played, _ := os.ReadDir(filepath.Join(dir, "played")); len(played) > 0 {
		fmt.Fprintf(stderr, "knockbeepd: --replay: the songs played are in %s\n", filepath.Join(dir, "played"))
		return
	}
	os.RemoveAll(dir)
}

// check prints the effective config as TOML, then the kernel filter as
// TOML comments, so the whole output is still a config file.
func check(cfg *config.Config, c commandLine, stdout, stderr io.Writer) int {
	from := "no config file, the built-in defaults"
	if c.configPath != "" {
		from = fmt.Sprintf("%s (%v)", c.configPath, cfg.Source)
	}
	warnings := checkWarnings(cfg)
	// The summary first: what a person checking a config wants to see.
	fmt.Fprintf(stdout, "# knockbeepd --check: %s: valid.\n", from)
	names := make([]string, len(cfg.Doors))
	for i, d := range cfg.Doors {
		names[i] = d.Name
	}
	music := "off"
	switch r := cfg.Music.Rotating; {
	case cfg.Music.Enabled && r != nil:
		music = fmt.Sprintf("on, songs only under the secret in %s (ports %d-%d, period %v)", strings.Join(r.SecretFiles, " and "), r.PortLo, r.PortHi, r.Period)
	case cfg.Music.Enabled:
		music = "on (open to every source unless [music] allow says otherwise)"
	}
	fmt.Fprintf(stdout, "# %d doors (%s), %d disabled; music doors %s; capturing on %s; %d warnings\n",
		len(cfg.Doors), strings.Join(names, ", "), len(cfg.Disabled), music, strings.Join(interfaces(cfg), ", "), len(warnings))
	if line := describeCluster(cfg.Cluster); line != "" {
		fmt.Fprintf(stdout, "# %s\n", line)
	}
	for _, w := range warnings {
		fmt.Fprintf(stdout, "# warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "#\n# The effective config:\n\n")
	if err := cfg.WriteTOML(stdout); err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
		return ExitFailure
	}
	local, err := capture.LocalAddrs()
	if err != nil {
		fmt.Fprintf(stderr, "knockbeepd: %v (the filter below has no local addresses)\n", err)
	}
	desc, err := DescribeFilter(FilterFor(cfg, cfg.Doors, local, c.onlyIPv4))
	if err != nil {
		fmt.Fprintf(stderr, "knockbeepd: the kernel filter: %v\n", err)
		return ExitConfig
	}
	if !c.verbose {
		// The BPF program's listing is for those who ask (-v).
		if i := strings.Index(desc, "BPF program"); i >= 0 {
			desc = desc[:i]
		}
	}
	fmt.Fprintf(stdout, "\n# The kernel filter on %s passes:\n", strings.Join(interfaces(cfg), ", "))
	for line := range strings.Lines(desc) {
		fmt.Fprintf(stdout, "#   %s", line)
	}
	for _, d := range cfg.Doors {
		switch r := d.Rotating; {
		case r != nil && d.Message != nil:
			fmt.Fprintf(stdout, "# door %q takes messages: its code changes every %v within %d-%d (knock --secret-file FILE --door %s --message TEXT sends one)\n", d.Name, r.Period, r.PortLo, r.PortHi, d.Name)
		case r != nil:
			fmt.Fprintf(stdout, "# door %q rotates: its ports change every %v within %d-%d (knockbeepd --show-sequence %s shows them)\n", d.Name, r.Period, r.PortLo, r.PortHi, d.Name)
		}
	}
	if c.strict && len(warnings) > 0 {
		fmt.Fprintf(stderr, "knockbeepd: --check --strict: %d warnings\n", len(warnings))
		return ExitConfig
	}
	return ExitOK
}

// checkWarnings lists what does not stop the config from loading but will
// surprise its operator: disabled doors, missing interfaces, commands that
// cannot run, doors that do nothing, firewall sets that are not there.
func checkWarnings(cfg *config.Config) []string {
	var out []string
	for _, d := range cfg.Disabled {
		out = append(out, fmt.Sprintf("door %q is disabled: %s", d.Door.Name, d.Reason))
	}
	out = append(out, cfg.Warnings...)
	for _, name := range cfg.Interfaces {
		if name == capture.Any {
			continue
		}
		if _, err := net.InterfaceByName(name); err != nil {
			out = append(out, fmt.Sprintf("interface %q does not exist on this host", name))
		}
	}
	for _, d := range cfg.Doors {
		cmds := []knock.Command{d.Start, d.Start6, d.Stop, d.Stop6}
		if len(d.Open) == 0 && d.Start.IsZero() && d.Start6.IsZero() {
			out = append(out, fmt.Sprintf("door %q has no action: give it open (firewall sets) or start_command", d.Name))
		}
		for _, cmd := range cmds {
			if cmd.IsZero() || cmd.Shell {
				continue
			}
			if _, err := exec.LookPath(cmd.Argv[0]); err != nil {
				out = append(out, fmt.Sprintf("door %q: command %q: %v", d.Name, cmd.Argv[0], err))
			}
		}
	}
	out = append(out, checkCluster(cfg.Cluster)...)
	return append(out, checkFirewallSets(cfg.Doors)...)
}

// checkFirewallSets looks up every set the doors open, without changing
// anything: a missing set, or one that cannot hold knockers with a
// timeout, is a door that would open nothing.
func checkFirewallSets(doors []knock.Door) []string {
	var warnings []string
	checked := map[string]bool{}
	for _, d := range doors {
		for _, spec := range d.Open {
			if checked[spec] {
				continue
			}
			checked[spec] = true
			parsed, err := firewall.ParseSpec(spec)
			if err == nil {
				var set firewall.Set
				if set, err = firewall.Open(parsed); err == nil {
					err = set.Check()
					set.Close()
				}
			}
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("door %q: %v", d.Name, err))
			}
		}
	}
	return warnings
}

// showSequence prints a rotating door's sequence at now, under each of its
// keys, and until when it is valid: for the operator, who may knock by
// hand or check a client. A door with bind_source has one per knocker:
// forSrc says whose.
func showSequence(cfg *config.Config, name string, forSrc netip.Addr, now time.Time, stdout, stderr io.Writer) int {
	i := slices.IndexFunc(cfg.Doors, func(d knock.Door) bool { return d.Name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "knockbeepd: --show-sequence: no door %q in the config\n", name)
		return ExitConfig
	}
	door := cfg.Doors[i]
	r := door.Rotating
	if r == nil {
		fmt.Fprintf(stderr, "knockbeepd: --show-sequence: door %q is not a rotating door (it has no secret_file or user_keys); --check shows its sequence\n", name)
		return ExitConfig
	}
	switch {
	case door.Message != nil:
		fmt.Fprintf(stderr, "knockbeepd: --show-sequence: door %q is a message door: it has no sequence (knock --message sends it a text)\n", name)
		return ExitConfig
	case r.BindSource && !forSrc.IsValid():
		fmt.Fprintf(stderr, "knockbeepd: --show-sequence: door %q has bind_source = true: each knocker has its own sequence; give --for ADDR\n", name)
		return ExitConfig
	case !r.BindSource && forSrc.IsValid():
		fmt.Fprintf(stderr, "knockbeepd: --show-sequence: door %q has bind_source = false: its sequence is the same for every knocker; leave out --for\n", name)
		return ExitConfig
	}
	p := portlang.PeriodAt(now, r.Period)
	sh := portlang.ShapeOf(r)
	forWhom := ""
	if forSrc.IsValid() {
		forWhom = fmt.Sprintf(", for %v", forSrc)
	}
	// The door's keys, each named as the output names it: its file, or
	// with user_keys its user.
	var keys []portlang.NamedKey
	for _, file := range r.SecretFiles {
		key, err := portlang.ReadKeyFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --show-sequence: %v\n", err)
			return ExitConfig
		}
		keys = append(keys, portlang.NamedKey{Name: "key " + file, Key: key})
	}
	if r.UserKeys != "" {
		users, err := portlang.ReadKeyDir(r.UserKeys)
		if err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --show-sequence: %v\n", err)
			return ExitConfig
		}
		for _, u := range users {
			keys = append(keys, portlang.NamedKey{Name: "user " + u.Name, Key: u.Key})
		}
	}
	for k, nk := range keys {
		seq, err := portlang.Sequence(nk.Key, portlang.Params{Purpose: portlang.PurposeDoor, Name: name, Period: p, Source: forSrc}, sh)
		if err != nil {
			fmt.Fprintf(stderr, "knockbeepd: --show-sequence: %v\n", err)
			return ExitConfig
		}
		fmt.Fprintf(stdout, "%s (%s%s): %s\n", name, nk.Name, forWhom, FormatSteps(seq))
		if k == 0 {
			end := portlang.PeriodStart(p+1, r.Period)
			fmt.Fprintf(stdout, "period %d: sent until %s (%v from now); a sequence begun by then opens until %s (skew %d)\n",
				p, end.UTC().Format(time.RFC3339), end.Sub(now).Round(time.Second), portlang.PeriodStart(p+int64(r.Skew)+1, r.Period).UTC().Format(time.RFC3339), r.Skew)
		}
	}
	return ExitOK
}

// FormatSteps writes a sequence as knock's command line takes it:
// "PORT:PROTO" separated by spaces.
func FormatSteps(steps []knock.Step) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = fmt.Sprintf("%d:%s", st.Port, st.Proto)
	}
	return strings.Join(parts, " ")
}

// convert prints the TOML equivalent of a knockd.conf.
func convert(path string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "knockbeepd: --convert: %v\n", err)
		return ExitConfig
	}
	if err := config.ConvertKnockd(path, data, stdout); err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: ", err))
		return ExitConfig
	}
	return ExitOK
}

var usage = strings.TrimLeft(`
usage: knockbeepd [options]
       knockbeepd --demo [--notes] [SONG]
       knockbeepd --check [-c FILE] | --convert KNOCKD.CONF | --replay FILE.pcap
       knockbeepd --genkey [--ed25519] FILE | -c FILE --show-sequence DOOR [--for ADDR]
       knockbeepd -c FILE --audit-verify | --user-add NAME KEYFILE | --user-revoke NAME

A port-knocking daemon that plays music: knock a song into it one SYN per
step, and it plays it on the PC speaker (or into a WAV file). With a config
it is also a better knockd: knock sequences that run commands, such as
opening SSH for the knocker. It reads knockd.conf unchanged.

Without -c it runs the built-in config: the music doors on every interface
(SYN to 1000 = tone step, 1001 = silence step, 2000+n = pitch of MIDI note n,
1002 = play), speaker auto, state in /var/lib/knockbeep. It runs in the
foreground; SIGHUP reloads the config (a bad one is logged and the old one
kept), SIGTERM and SIGINT stop it after running the pending stop commands.
It needs CAP_NET_RAW (and CAP_SYS_TTY_CONFIG for the console speaker).

Options:
  -c, --config FILE     config file: knockbeepd TOML (configs/knockbeepd.toml)
                        or knockd.conf, told apart by content
  -i, --interface IF    capture on IF; repeat for several; "any" for every
                        interface that is up, including later ones (default)
      --speaker SPEC    auto, evdev[:PATH], console[:PATH], speaker[:PATH],
                        wav:PATH (a .wav file or a directory), none
      --state-dir DIR   where pools and played songs live
      --check           validate the config, print it as TOML with the kernel
                        filter it makes, and exit
      --convert FILE    print the TOML equivalent of a knockd.conf, and exit
      --replay FILE     run a pcap or pcapng file through the daemon instead of
                        capturing (tests, forensics), then exit. The doors'
                        commands RUN, as they would have live: that is how a
                        replay reproduces what happened. Pools and songs go
                        to a new temporary directory (printed) unless
                        --state-dir is given
      --genkey FILE     write a new random key for a rotating door to FILE
                        (mode 0600; never overwrites), and exit
      --ed25519         with --genkey: write a fleet node's Ed25519 key
                        ([cluster] node_key) instead, and print its public
                        line for the fleet's trust list
      --audit-verify    with -c: walk the fleet's audit stream, print every
                        break in its chain (a record altered, removed or
                        inserted), and exit; runs beside the daemon
      --user-add NAME KEYFILE
                        with -c: give user NAME the key in KEYFILE at every
                        node of the fleet (doors with fleet_users), and exit
      --user-revoke NAME
                        with -c: take user NAME's key away at every node of
                        the fleet, and exit
      --show-sequence DOOR
                        print a rotating door's current sequence and until
                        when it is valid, and exit
      --for ADDR        with --show-sequence, for a door with bind_source:
                        the sequence of the knocker at ADDR
      --demo [SONG]     knock a song into a daemon on loopback and play it: the
                        Imperial March unless SONG names a file or a built-in
                        song (fur-elise, minuet-in-g, ode-to-joy,
                        three-voice-round, twinkle-twinkle); needs root
      --notes           with --demo: knock the song one knock per note (its
                        pitch, length and rest in one port), at its written
                        rhythm, instead of one knock per 100ms step
  -D, --debug           log debug lines to stderr
  -v, --verbose         log to stderr too, at least at info level

knockd's options, with knockd's meaning:
  -p, --pidfile FILE    write the process id to FILE (refuses to start while
                        another live process holds it)
  -g, --logfile FILE    log to FILE too (knockd.conf configs: knockd's format)
  -4, --only-ip-v4      ignore IPv6 knocks
  -l, --lookup          accepted and ignored: addresses are never looked up
  -d, --daemon          refused: run under systemd or rc.d (see configs/)
  -V, --version         print the version and exit
  -h, --help            print this help and exit

Exit status:
  0  stopped cleanly (SIGTERM, SIGINT), or --check/--convert/--demo/--genkey/
     --show-sequence/--audit-verify/--user-add/--user-revoke succeeded
  1  could not start (no permission to capture, interface missing, pidfile
     held) or failed while running
  2  bad command line
  3  the config cannot be read or is not valid
  4  --audit-verify found breaks in the audit chain

Examples:
  sudo knockbeepd --demo                       # hear (or get a WAV of) the Imperial March
  sudo knockbeepd --demo songs/fur-elise.rtttl
  sudo knockbeepd                              # music doors on every interface
  sudo knockbeepd -c /etc/knockbeepd.toml -i eth0
  sudo knockbeepd -c /etc/knockd.conf -i eth0  # drop-in for knockd
  knockbeepd --check -c /etc/knockbeepd.toml
  knockbeepd --convert /etc/knockd.conf > /etc/knockbeepd.toml
  knockbeepd --genkey /etc/knockbeep/ssh.key   # then secret_file = "/etc/knockbeep/ssh.key"
  knockbeepd -c /etc/knockbeepd.toml --show-sequence ssh
  knockbeepd --genkey --ed25519 /etc/knockbeep/node.key >> fleet.pub
  knockbeepd -c /etc/knockbeepd.toml --audit-verify
  knockbeepd -c /etc/knockbeepd.toml --user-add alice alice.key
  knockbeepd --replay knocks.pcap -c /etc/knockbeepd.toml --speaker wav:songs-out/
  sudo kill -HUP "$(cat /run/knockbeepd.pid)"  # reload
`, "\n")
