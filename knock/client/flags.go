package client

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/internal/getopt"
	"github.com/knockbeep/knockbeep/knock"
	knockconfig "github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
)

// config is a parsed command line.
type config struct {
	help, version bool
	udp           bool
	verbose       bool
	network       string // "", "ip4" or "ip6"
	delay         time.Duration
	delaySet      bool

	// songs is --song: a song file, or an embedded song's name; with
	// --orchestra it may be repeated, one single-voice song per host.
	songs    []string
	dryRun   bool
	noPitch  bool
	notes    bool // --notes: one knock per note
	protocol sequence.Protocol
	songOnly []string // song options given, to refuse them without --song
	// orchestra sends voice i of the song to hosts[i] and then the
	// ensemble knock, on ensemblePort, to hosts[0].
	orchestra    bool
	hosts        []string
	ensemblePort uint16

	host   string
	knocks []portKnock // knockd mode's PORT[:PROTO] operands

	// A rotating door's knock: --secret-file and --door, the door's shape
	// (as in its config), and the client's clock correction.
	secretFile string
	door       string
	rotating   knock.Rotating
	timeOffset time.Duration
	// bindSource derives the sequence for the knocker's address (a door
	// with bind_source): sourceAddr, or when that is not given the
	// address this computer sends from to reach HOST.
	bindSource bool
	sourceAddr netip.Addr
	// message is the text --message sends to a message door, with parity
	// parity knocks.
	message   string
	parity    int
	paritySet bool
	// wait waits for the door's answer (reply = true) for waitTimeout.
	wait        bool
	waitTimeout time.Duration
	doorOnly    []string // rotating-door options given, to refuse them without --secret-file
}

// A portKnock is one PORT[:PROTO] operand: where to knock, and the port as
// the user wrote it, which -v prints as knockd's client does ("ssh").
type portKnock struct {
	target send.Target
	label  string
}

// A usageError is a command line that cannot be run; Run prints it with a
// pointer to --help and exits with ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// An option is one command-line option, GNU getopt_long style: a short
// letter (or 0), a long name, and for options that take a value, the name
// of the value shown in messages; set applies it.
type option struct {
	short    byte
	long     string
	value    string
	songOnly bool
	doorOnly bool
	set      func(c *config, value string) error
}

var options = []option{
	{short: 'u', long: "udp", set: func(c *config, _ string) error { c.udp = true; return nil }},
	{short: 'd', long: "delay", value: "T", set: func(c *config, v string) error {
		d, err := parseTimeOption(v)
		if err != nil {
			return err
		}
		c.delay, c.delaySet = d, true
		return nil
	}},
	{short: '4', long: "ipv4", set: func(c *config, _ string) error { return c.setNetwork("ip4") }},
	{short: '6', long: "ipv6", set: func(c *config, _ string) error { return c.setNetwork("ip6") }},
	{short: 'v', long: "verbose", set: func(c *config, _ string) error { c.verbose = true; return nil }},
	{short: 'h', long: "help", set: func(c *config, _ string) error { c.help = true; return nil }},
	{short: 'V', long: "version", set: func(c *config, _ string) error { c.version = true; return nil }},
	{long: "song", value: "SONG", set: func(c *config, v string) error {
		if v == "" {
			return errors.New("empty song name: give a song file or an embedded song's name")
		}
		c.songs = append(c.songs, v)
		return nil
	}},
	{long: "dry-run", set: func(c *config, _ string) error { c.dryRun = true; return nil }},
	{long: "secret-file", value: "FILE", set: func(c *config, v string) error { c.secretFile = v; return nil }},
	{long: "door", value: "NAME", doorOnly: true, set: func(c *config, v string) error {
		if v == "" || strings.ContainsRune(v, 0) {
			return errors.New("give the door's name, as in the daemon's config")
		}
		c.door = v
		return nil
	}},
	{long: "time-offset", value: "T", doorOnly: true, set: func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d.Abs() > 24*time.Hour {
			return errors.New("want a duration within a day, e.g. -45s or 2m")
		}
		c.timeOffset = d
		return nil
	}},
	{long: "message", value: "TEXT", doorOnly: true, set: func(c *config, v string) error {
		if err := message.CheckText([]byte(v)); err != nil {
			return err
		}
		c.message = v
		return nil
	}},
	{long: "parity", value: "N", doorOnly: true, set: func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > message.MaxParity {
			return fmt.Errorf("want 0 to %d parity knocks", message.MaxParity)
		}
		c.parity, c.paritySet = n, true
		return nil
	}},
	{long: "wait", doorOnly: true, set: func(c *config, _ string) error { c.wait = true; return nil }},
	{long: "wait-timeout", value: "T", doorOnly: true, set: func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			return errors.New("want a duration up to an hour, e.g. 5s")
		}
		c.waitTimeout, c.wait = d, true
		return nil
	}},
	{long: "bind-source", doorOnly: true, set: func(c *config, _ string) error { c.bindSource = true; return nil }},
	{long: "source-address", value: "ADDR", doorOnly: true, set: func(c *config, v string) error {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" || a.IsUnspecified() {
			return errors.New("want the IP address the server sees this computer knock from, e.g. 203.0.113.5")
		}
		c.sourceAddr, c.bindSource = a.Unmap(), true
		return nil
	}},
	{long: "period", value: "T", doorOnly: true, set: func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d%time.Second != 0 {
			return errors.New("want whole seconds, as the door's period (30s)")
		}
		c.rotating.Period = d
		return nil
	}},
	{long: "length", value: "N", doorOnly: true, set: func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 32 {
			return errors.New("want the door's length, 1-32")
		}
		c.rotating.Length = n
		return nil
	}},
	{long: "port-range", value: "LOW-HIGH", doorOnly: true, set: func(c *config, v string) error {
		lo, hi, ok := strings.Cut(v, "-")
		l, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		h, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if !ok || err1 != nil || err2 != nil || l == 0 || h < l {
			return errors.New("want the door's port_range, LOW-HIGH (20000-32767)")
		}
		c.rotating.PortLo, c.rotating.PortHi = uint16(l), uint16(h)
		return nil
	}},
	{long: "protocols", value: "P", doorOnly: true, set: func(c *config, v string) error {
		var protos []knock.Proto
		for _, name := range []string{"tcp", "udp"} {
			for _, f := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(f), name) && !slices.Contains(protos, map[string]knock.Proto{"tcp": knock.TCP, "udp": knock.UDP}[name]) {
					protos = append(protos, map[string]knock.Proto{"tcp": knock.TCP, "udp": knock.UDP}[name])
				}
			}
		}
		if len(protos) == 0 || len(strings.Split(v, ",")) != len(protos) {
			return errors.New(`want the door's protocols: "tcp", "udp" or "tcp,udp"`)
		}
		c.rotating.Protos = protos
		return nil
	}},
	{long: "no-pitch", songOnly: true, set: func(c *config, _ string) error { c.noPitch = true; return nil }},
	{long: "ports", value: "TONE,SILENCE,PLAY", songOnly: true, set: func(c *config, v string) error {
		fields := strings.Split(v, ",")
		if len(fields) != 3 {
			return errors.New("want three ports TONE,SILENCE,PLAY, e.g. 1000,1001,1002")
		}
		var ports [3]uint16
		for i, f := range fields {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
			if err != nil || n == 0 {
				return fmt.Errorf("%q is not a port 1-65535", f)
			}
			ports[i] = uint16(n)
		}
		c.protocol.TonePort, c.protocol.SilencePort, c.protocol.PlayPort = ports[0], ports[1], ports[2]
		return nil
	}},
	{long: "pitch-base", value: "N", songOnly: true, set: func(c *config, v string) error {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return errors.New("want a port number 0-65535 (0: no pitch knocks)")
		}
		c.protocol.PitchBase = uint16(n)
		return nil
	}},
	{long: "notes", songOnly: true, set: func(c *config, _ string) error { c.notes = true; return nil }},
	{long: "orchestra", songOnly: true, set: func(c *config, _ string) error { c.orchestra = true; return nil }},
	{long: "ensemble-port", value: "PORT", songOnly: true, set: func(c *config, v string) error {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return errors.New("want the daemons' [music] ensemble_port, a port number 1-65535")
		}
		c.ensemblePort = uint16(n)
		return nil
	}},
	{long: "note-base", value: "N", songOnly: true, set: func(c *config, v string) error {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return errors.New("want the daemon's note_base, a port number 0-65535")
		}
		c.protocol.NoteBase = uint16(n)
		return nil
	}},
	{long: "note-unit", value: "T", songOnly: true, set: func(c *config, v string) error {
		d, err := parseTimeOption(v)
		if err != nil || d == 0 {
			return errors.New("want the daemon's note_unit, more than 0: milliseconds (25) or a duration (25ms)")
		}
		c.protocol.NoteUnit = d
		return nil
	}},
	{long: "step", value: "T", songOnly: true, set: func(c *config, v string) error {
		d, err := parseTimeOption(v)
		if err != nil || d == 0 {
			return errors.New("want the daemon's step length, more than 0: milliseconds (100) or a duration (100ms)")
		}
		c.protocol.Step = d
		return nil
	}},
}

func (c *config) setNetwork(network string) error {
	if c.network != "" && c.network != network {
		return errors.New("-4 and -6 exclude each other")
	}
	c.network = network
	return nil
}

// maxTimeOption bounds -d and --step: longer is surely a typing mistake, and
// the bound keeps the arithmetic far from overflow.
const maxTimeOption = time.Hour

// parseTimeOption reads a time as knockd's client does, a number of
// milliseconds ("100", also "0.5"), or as a Go duration with its unit
// ("500us", "2ms", "1s").
func parseTimeOption(s string) (time.Duration, error) {
	var d time.Duration
	if ms, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpPnNiI_") {
		// A plain decimal number of milliseconds; hexadecimal floats,
		// underscores, NaN and Inf are not times.
		if ms < 0 {
			return 0, errors.New("cannot be negative")
		}
		if ms > float64(maxTimeOption/time.Millisecond) {
			return 0, fmt.Errorf("longer than %v", maxTimeOption)
		}
		d = time.Duration(math.Round(ms * float64(time.Millisecond)))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want milliseconds (100) or a duration with its unit (500us, 2ms, 1s)")
		}
		if d < 0 {
			return 0, errors.New("cannot be negative")
		}
		if d > maxTimeOption {
			return 0, fmt.Errorf("longer than %v", maxTimeOption)
		}
	}
	return d, nil
}

// getoptOptions are options as getopt.Parse reads them.
var getoptOptions = func() []getopt.Option {
	specs := make([]getopt.Option, len(options))
	for i, o := range options {
		specs[i] = getopt.Option{Short: o.short, Long: o.long, ValueName: o.value}
		if o.value != "" {
			specs[i].Value = getopt.RequiredValue
		}
	}
	return specs
}()

// parseArgs reads the command line (without the program name) the way GNU
// getopt_long does for knockd's client (package getopt): short options may
// be clustered ("-uv"), a short option's value may be attached ("-d100") or
// the next argument ("-d 100"), a long option's value follows "=" or is the
// next argument, options and operands may be mixed, and "--" ends the
// options.
func parseArgs(args []string) (config, error) {
	c := config{protocol: sequence.DefaultProtocol(), ensemblePort: knockconfig.DefaultEnsemblePort, rotating: knockconfig.DefaultRotating(), parity: DefaultParity, waitTimeout: DefaultWaitTimeout}
	operands, err := getopt.Parse(args, getoptOptions, func(i int, spelled, value string) error {
		return c.apply(&options[i], spelled, value)
	})
	if err != nil {
		var ue *usageError
		if !errors.As(err, &ue) {
			err = &usageError{msg: err.Error()}
		}
		return c, err
	}
	if c.help || c.version {
		return c, nil
	}
	return c, c.checkOperands(operands)
}

func (c *config) apply(opt *option, spelled, value string) error {
	if opt.songOnly {
		c.songOnly = append(c.songOnly, "--"+opt.long)
	}
	if opt.doorOnly {
		c.doorOnly = append(c.doorOnly, "--"+opt.long)
	}
	if err := opt.set(c, value); err != nil {
		if opt.value == "" {
			return usagef("%s: %v", spelled, err)
		}
		return usagef("%s %q: %v", spelled, value, err)
	}
	return nil
}

// checkOperands sorts the operands into HOST and PORTs and checks the
// options that depend on the mode.
func (c *config) checkOperands(operands []string) error {
	if len(operands) > 0 && operands[0] == "" {
		return usagef("HOST is empty")
	}
	if c.secretFile == "" && len(c.doorOnly) > 0 {
		return usagef("%s only applies with --secret-file FILE", c.doorOnly[0])
	}
	if c.dryRun && len(c.songs) == 0 && c.secretFile == "" {
		return usagef("--dry-run only applies with --song SONG or --secret-file FILE")
	}
	if len(c.songs) > 1 && !c.orchestra {
		return usagef("--song %q: --song repeats only with --orchestra, one song per voice and host; give one SONG", c.songs[1])
	}
	if c.secretFile != "" && len(c.songs) > 0 {
		// A song under the music doors' secret: one authenticated frame.
		switch {
		case c.orchestra:
			return usagef("--orchestra needs the daemons' static music ports: songs under a secret ([music] secret_file) cannot be played together yet; leave out --secret-file")
		case c.door != "":
			return usagef("--song with --secret-file goes to the music doors ([music] secret_file): leave out --door")
		case c.message != "":
			return usagef("--song and --message are two things to send: give one")
		case c.wait:
			return usagef("--wait goes with a rotating door's sequence: the music doors do not answer")
		case c.bindSource:
			return usagef("the music doors' code does not depend on the source: leave out --bind-source and --source-address")
		case c.udp:
			return usagef("-u does not apply under a secret: the code says each knock's protocol (--protocols)")
		case c.rotating.Length != knockconfig.DefaultRotating().Length:
			return usagef("--length is a rotating door's: a song's length is its own")
		}
		return c.songHost(operands)
	}
	if c.secretFile != "" {
		switch {
		case c.door == "":
			return usagef("--secret-file needs --door NAME: the door's name is part of its sequence")
		case c.udp:
			return usagef("-u does not apply to a rotating door: its sequence says each knock's protocol (--protocols)")
		case len(operands) == 0 && !c.dryRun:
			return usagef("give the HOST to knock on")
		case c.paritySet && c.message == "":
			return usagef("--parity goes with --message: it adds knocks that recover lost ones")
		case c.message != "" && c.wait:
			return usagef("--wait goes with a rotating door's sequence: a message door does not answer")
		case c.wait && c.dryRun:
			return usagef("--wait waits for the answer to knocks that --dry-run does not send")
		case c.message != "" && c.bindSource:
			return usagef("--message goes to a message door, whose code does not depend on the source: leave out --bind-source and --source-address")
		case len(operands) == 0 && c.bindSource && !c.sourceAddr.IsValid():
			return usagef("--bind-source derives the sequence for the address this computer knocks HOST from: give HOST, or --source-address ADDR")
		case len(operands) > 1:
			return usagef("with --secret-file give only HOST: the key decides the ports (extra %q)", operands[1])
		}
		if len(operands) == 1 {
			c.host = operands[0]
		}
		return nil
	}
	if len(c.songs) == 0 {
		if len(c.songOnly) > 0 {
			return usagef("%s only applies with --song SONG", c.songOnly[0])
		}
		if len(operands) < 2 {
			return usagef("give a HOST and at least one PORT")
		}
		c.host = operands[0]
		for _, arg := range operands[1:] {
			t, err := send.ParsePort(arg, c.proto())
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			label, _, _ := strings.Cut(arg, ":")
			c.knocks = append(c.knocks, portKnock{target: t, label: label})
		}
		return nil
	}
	return c.songHost(operands)
}

// songHost takes --song's operands: HOST alone (none with --dry-run), or
// with --orchestra one HOST per voice. A song's voices are counted only
// when it is read (runOrchestra); one --song per voice is counted here.
func (c *config) songHost(operands []string) error {
	switch {
	case !c.orchestra && slices.Contains(c.songOnly, "--ensemble-port"):
		return usagef("--ensemble-port only applies with --orchestra")
	case c.orchestra && len(operands) == 0:
		return usagef("--orchestra: give one HOST per voice of the song, the first the conductor")
	case c.orchestra && len(c.songs) > sequence.MaxVoices:
		return usagef("--orchestra: %d --song options, but a song has at most %d voices", len(c.songs), sequence.MaxVoices)
	case c.orchestra && len(operands) > sequence.MaxVoices:
		return usagef("--orchestra: %d hosts, but a song has at most %d voices", len(operands), sequence.MaxVoices)
	case c.orchestra && len(c.songs) > 1 && len(operands) != len(c.songs):
		return usagef("--orchestra: %d --song options, one voice each: give %d hosts in their order, not %d", len(c.songs), len(c.songs), len(operands))
	case c.orchestra:
		for _, h := range operands {
			if h == "" {
				return usagef("--orchestra: a HOST is empty")
			}
		}
		c.hosts, c.host = operands, operands[0]
	case len(operands) == 1:
		c.host = operands[0]
	case len(operands) == 0 && c.dryRun:
	case len(operands) == 0:
		return usagef("give the HOST to knock the song into")
	default:
		return usagef("with --song give only HOST: the song decides the ports (extra %q)", operands[1])
	}
	if !c.notes {
		// Without --notes no note knock is sent: the daemon's note ports
		// do not matter, and must not clash with custom --ports.
		c.protocol.NoteBase = 0
	}
	if err := c.protocol.Validate(); err != nil {
		return usagef("--ports, --pitch-base, --note-base, --note-unit, --step: %v", err)
	}
	switch {
	case c.notes && c.noPitch:
		return usagef("--notes and --no-pitch exclude each other: note knocks carry their pitch")
	case c.notes && (c.protocol.NoteBase == 0 || c.protocol.PitchBase == 0):
		return usagef("--notes needs the daemon's note ports and pitch ports: --note-base and --pitch-base cannot be 0")
	}
	return nil
}
