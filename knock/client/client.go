package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/internal/buildinfo"
	"github.com/knockbeep/knockbeep/internal/errtext"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/reply"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// Exit statuses of knock, listed in the usage text.
const (
	ExitOK          = 0
	ExitFailure     = 1   // a knock could not be sent: no route, network down, ...
	ExitUsage       = 2   // bad options or operands; nothing was sent
	ExitSong        = 3   // the song cannot be read, parsed or composed; nothing was sent
	ExitHost        = 4   // the host cannot be resolved; nothing was sent
	ExitPermission  = 5   // the system refused to send (a firewall rule, a sandbox)
	ExitRefused     = 6   // --wait: the door answered that it refused the knock (its sequence was used before)
	ExitNoReply     = 7   // --wait: no authentic answer came within --wait-timeout
	ExitInterrupted = 130 // stopped by SIGINT or SIGTERM
)

// DefaultSongDelay is the pause between the knocks of a song when -d is not
// given. Each knock is a connection of its own, from a new source port to
// another port, so nothing but time keeps the knocks of a song in order. On
// loopback they arrive in the order sent even with no pause, but a receiver
// whose NIC spreads flows over its CPUs (RSS, or RPS) processes each knock on
// whichever CPU its flow hashes to, and a knock overtakes the one before it
// when that CPU is late by more than the pause. Measured with
// BenchmarkKnockOrderAcrossCPUs in knock/send (a veth pair into a namespace
// with RPS on both CPUs of a 2-vCPU machine shared with a load average of
// 7-14): with no pause 3-9 % of the knocks arrived out of place; at 1 ms
// 4 runs of 14 had some (up to 203 of 1,000 knocks, some 6 places late); at
// 2 ms 2 runs of 13; at 5 ms none in 12 runs (17,000 knocks). 5 ms is 200
// knocks a second, a fiftieth of what the daemon keeps up with, and gentle
// with routers that take bursts of SYNs for a port scan; the Imperial March
// (314 knocks with its tune) goes in in under two seconds, and plays for 25.
// Knockd-style port knocks keep knockd's default of no pause.
const DefaultSongDelay = 5 * time.Millisecond

// DefaultParity is --message's parity knocks: each recovers one knock lost
// in its class, for a few knocks more.
const DefaultParity = 4

// DefaultWaitTimeout is how long --wait waits for a door's answer.
const DefaultWaitTimeout = 5 * time.Second

// progressAfter is how long knocking a song must take, at its pace, before
// a progress bar is worth drawing.
const progressAfter = 2 * time.Second

// Run is the knock command: args are the arguments after the program name.
// It writes what the user asked for (verbose knocks, the dry-run plan, the
// closing summary) to stdout, errors and the progress bar to stderr, and
// returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, environment{
		stdout:   stdout,
		stderr:   stderr,
		clock:    clock.System(),
		terminal: isTerminal(stderr),
	})
}

// RunWithClock is Run with another clock, which knock takes the time from
// (a rotating door's period) and paces its knocks by: a program that keeps
// its own time, and tests that play a client whose clock is off.
func RunWithClock(ctx context.Context, args []string, stdout, stderr io.Writer, clk clock.Clock) int {
	return run(ctx, args, environment{stdout: stdout, stderr: stderr, clock: clk, terminal: isTerminal(stderr)})
}

// environment is what Run takes from the world, so tests can supply it.
type environment struct {
	stdout, stderr io.Writer
	clock          clock.Clock
	terminal       bool // stderr is a terminal: a progress bar may be drawn
}

func run(ctx context.Context, args []string, env environment) int {
	c, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(env.stderr, "%s\nRun 'knock --help' for usage.\n", errtext.Lines("knock: ", err))
		return ExitUsage
	}
	switch {
	case c.help:
		io.WriteString(env.stdout, usage)
		return ExitOK
	case c.version:
		fmt.Fprintf(env.stdout, "knock (knockbeep) %s\n", buildinfo.Version())
		return ExitOK
	case c.orchestra:
		return runOrchestra(ctx, c, env)
	case len(c.songs) > 0:
		return runSong(ctx, c, env)
	case c.secretFile != "":
		return runRotating(ctx, c, env)
	}
	return runPorts(ctx, c, env)
}

// runPorts is knockd's client: one knock per PORT operand.
func runPorts(ctx context.Context, c config, env environment) int {
	addr, err := send.Resolve(ctx, c.host, c.network)
	if err != nil {
		return fail(ctx, env, ExitHost, err)
	}
	s := send.NewSender(addr, send.Options{Delay: c.delay, Clock: env.clock})
	for i, k := range c.knocks {
		if c.verbose {
			fmt.Fprintf(env.stdout, "hitting %v %v:%s\n", k.target.Proto, addr, k.label)
		}
		if err := s.Knock(ctx, k.target); err != nil {
			return knockFailed(ctx, env, err, i, len(c.knocks))
		}
	}
	return ExitOK
}

// runRotating knocks a rotating door's current sequence, derived from its
// key for the period of the client's clock corrected by --time-offset.
func runRotating(ctx context.Context, c config, env environment) int {
	key, err := portlang.ReadKeyFile(c.secretFile)
	if err != nil {
		return fail(ctx, env, ExitUsage, err)
	}
	var addr netip.Addr
	if !c.dryRun || c.bindSource && !c.sourceAddr.IsValid() {
		if addr, err = send.Resolve(ctx, c.host, c.network); err != nil {
			return fail(ctx, env, ExitHost, err)
		}
	}
	r := c.rotating
	now := env.clock.Now().Add(c.timeOffset)
	p := portlang.PeriodAt(now, r.Period)
	params := portlang.Params{Purpose: portlang.PurposeDoor, Name: c.door, Period: p}
	forWhom := ""
	if c.bindSource {
		params.Source = c.sourceAddr
		if !params.Source.IsValid() {
			if params.Source, err = send.SourceFor(addr); err != nil {
				return fail(ctx, env, ExitHost, fmt.Errorf("%w (give --source-address ADDR)", err))
			}
		}
		forWhom = fmt.Sprintf(", for %v", params.Source)
	}
	r.Reply = c.wait // a door that answers takes its last knock as a UDP datagram
	shape := portlang.ShapeOf(&r)
	var seq []knock.Step
	if c.message != "" {
		if seq, err = encodeMessage(key, c, p, shape); err != nil {
			return fail(ctx, env, ExitUsage, fmt.Errorf("--message: %w", err))
		}
	} else if seq, err = portlang.Sequence(key, params, shape); err != nil {
		return fail(ctx, env, ExitUsage, fmt.Errorf("--length, --port-range, --protocols: %w", err))
	}
	if c.dryRun || c.verbose {
		end := portlang.PeriodStart(p+1, r.Period)
		what := ""
		if c.message != "" {
			what = fmt.Sprintf(", message of %d bytes in %d knocks (%d parity)", len(c.message), len(seq), c.parity)
		}
		fmt.Fprintf(env.stdout, "door %s, period %d (until %s)%s%s: %s\n", c.door, p, end.UTC().Format(time.RFC3339), forWhom, what, formatSteps(seq))
	}
	if c.dryRun {
		return ExitOK
	}
	s := send.NewSender(addr, send.Options{Delay: c.songDelay(), Clock: env.clock}) // the steps must arrive in order, as a song's
	last := len(seq)
	if c.wait {
		last-- // sent from the socket the answer comes back to
	}
	if status := knockSteps(ctx, c, env, s, addr, seq[:last], len(seq)); status != ExitOK {
		return status
	}
	if !c.wait {
		return ExitOK
	}
	if last > 0 {
		env.clock.SleepUntil(ctx, env.clock.Now().Add(c.songDelay()))
	}
	st := seq[last]
	if c.verbose {
		fmt.Fprintf(env.stdout, "hitting %v %v:%d, then waiting for the answer\n", st.Proto, addr, st.Port)
	}
	return waitForReply(ctx, env, c, key, p, netip.AddrPortFrom(addr, st.Port))
}

// waitForReply sends the last knock, a UDP datagram, to door from a
// socket of its own and waits on it for the door's answer (package
// reply) until --wait-timeout: what is not an authentic answer for this
// period (a forgery, an old answer) is ignored.
func waitForReply(ctx context.Context, env environment, c config, key []byte, period int64, to netip.AddrPort) int {
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return fail(ctx, env, ExitFailure, fmt.Errorf("--wait: a socket for the answer: %w", err))
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	if _, err := conn.WriteToUDPAddrPort(nil, to); err != nil {
		return knockFailed(ctx, env, err, 0, 1)
	}
	conn.SetReadDeadline(time.Now().Add(c.waitTimeout))
	buf := make([]byte, 512)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if ctx.Err() != nil {
			return ExitInterrupted
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "knock: no answer from door %s within %v: the knock may have been lost, or the door has no reply = true\n", c.door, c.waitTimeout)
			return ExitNoReply
		}
		if from.Addr().Unmap() != to.Addr().Unmap() {
			continue
		}
		r, err := reply.Parse(key, c.door, period, buf[:n])
		if err != nil {
			if c.verbose {
				fmt.Fprintf(env.stderr, "knock: ignored a datagram from %v: %v\n", from, err)
			}
			continue
		}
		switch r.Status {
		case reply.Opened:
			until := ""
			if !r.Until.IsZero() {
				until = " until " + r.Until.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(env.stdout, "door %s opened%s\n", c.door, until)
			return ExitOK
		default:
			fmt.Fprintf(env.stdout, "door %s refused the knock: its sequence was used before (a replay, or another client in this period: knock again in the next)\n", c.door)
			return ExitRefused
		}
	}
}

// encodeMessage is --message's knocks for period p: the message door's
// code (package message) over the door's range.
func encodeMessage(key []byte, c config, p int64, shape portlang.Shape) ([]knock.Step, error) {
	code, err := message.NewCode(key, c.door, p, shape)
	if err != nil {
		return nil, err
	}
	return code.Encode([]byte(c.message), c.parity)
}

// runSong composes a song into the music protocol's knocks and knocks it in.
func runSong(ctx context.Context, c config, env environment) int {
	song, err := songs.Load(c.songs[0])
	if err != nil {
		return fail(ctx, env, ExitSong, err)
	}
	plan, err := composeSong(c, env, c.songs[0], strconv.Quote(song.Name), song.Tones)
	if err != nil {
		return fail(ctx, env, ExitSong, err)
	}
	delay := c.songDelay()
	if c.secretFile != "" {
		return runSecretSong(ctx, c, env, song, plan, delay)
	}
	pacing := time.Duration(len(plan.Knocks)-1) * delay
	if c.dryRun {
		printPlan(env.stdout, song, plan, pacing, delay)
		return ExitOK
	}

	addr, err := send.Resolve(ctx, c.host, c.network)
	if err != nil {
		return fail(ctx, env, ExitHost, err)
	}
	s := send.NewSender(addr, send.Options{Delay: delay, Clock: env.clock})
	var bar *progressBar
	if env.terminal && !c.verbose && pacing >= progressAfter {
		bar = newProgressBar(env.stderr, env.clock, len(plan.Knocks), delay)
	}
	proto := c.proto()
	start := env.clock.Now()
	for i, k := range plan.Knocks {
		port := k.Port(plan.Protocol)
		if c.verbose {
			fmt.Fprintf(env.stdout, "hitting %v %v:%d\n", proto, addr, port)
		}
		if err := s.Knock(ctx, send.Target{Port: port, Proto: proto}); err != nil {
			bar.clear()
			return knockFailed(ctx, env, err, i, len(plan.Knocks))
		}
		bar.update(i + 1)
	}
	bar.clear()
	fmt.Fprintf(env.stdout, "knocked %q into %v: %d knocks in %v; written %v, it plays for %v\n",
		song.Name, addr, len(plan.Knocks), env.clock.Now().Sub(start).Round(time.Millisecond), song.Duration().Round(time.Millisecond), playTime(plan))
	return ExitOK
}

// composeSong composes the tones of a song (given as arg, called what in
// the warning) into the music protocol's knocks as --song does, with
// --no-pitch and --notes, and warns on stderr when they need more steps
// than a daemon's pool keeps by default.
func composeSong(c config, env environment, arg, what string, tones []sequence.Tone) (sequence.Plan, error) {
	plan, err := sequence.Compose(tones, c.protocol, sequence.ComposeOptions{NoPitch: c.noPitch, Notes: c.notes})
	if err != nil {
		return plan, fmt.Errorf("%s: %w", arg, err)
	}
	if n := plan.StepCount(); n > sequence.DefaultDaemonPoolSteps {
		// The daemon's own limit is unknown here; its default is what a
		// user who never set it has.
		fmt.Fprintf(env.stderr, "knock: warning: %s needs %d steps, more than the %d a knockbeepd music pool keeps by default: "+
			"a daemon whose config does not raise [music] max_steps to %d or more plays only the first %d\n",
			what, n, sequence.DefaultDaemonPoolSteps, n, sequence.DefaultDaemonPoolSteps)
	}
	return plan, nil
}

// songDelay is the pause between a song's (or a message's) knocks: -d,
// or DefaultSongDelay.
func (c config) songDelay() time.Duration {
	if c.delaySet {
		return c.delay
	}
	return DefaultSongDelay
}

// proto is the protocol of the knocks: UDP with -u, else TCP.
func (c config) proto() knock.Proto {
	if c.udp {
		return knock.UDP
	}
	return knock.TCP
}

// runSecretSong knocks plan in as one frame of the music doors' code
// under the secret ([music] secret_file): the song's knocks packed
// (sequence.PackKnocks), then encoded for the period of the client's
// clock corrected by --time-offset. The frame's knocks may arrive in any
// order; its tag, checked by the daemon, is the play.
func runSecretSong(ctx context.Context, c config, env environment, song sequence.Song, plan sequence.Plan, delay time.Duration) int {
	key, err := portlang.ReadKeyFile(c.secretFile)
	if err != nil {
		return fail(ctx, env, ExitUsage, err)
	}
	packed, err := sequence.PackKnocks(plan.Knocks)
	if err != nil {
		return fail(ctx, env, ExitSong, fmt.Errorf("%s: %w", c.songs[0], err))
	}
	r := c.rotating
	p := portlang.PeriodAt(env.clock.Now().Add(c.timeOffset), r.Period)
	code, err := message.NewSongCode(key, p, portlang.ShapeOf(&r))
	if err != nil {
		return fail(ctx, env, ExitUsage, fmt.Errorf("--port-range, --protocols: %w", err))
	}
	seq, err := code.Encode(packed, c.parity)
	if err != nil {
		return fail(ctx, env, ExitSong, fmt.Errorf("%s: %w (a shorter song, or a wider [music] port_range and --port-range)", c.songs[0], err))
	}
	summary := fmt.Sprintf("song %q under the secret, period %d: %d song knocks packed into %d bytes, sent as %d knocks (%d parity); written %v, it plays for %v",
		song.Name, p, len(plan.Knocks), len(packed), len(seq), c.parity, song.Duration().Round(time.Millisecond), playTime(plan))
	if c.dryRun || c.verbose {
		fmt.Fprintln(env.stdout, summary)
	}
	if c.dryRun {
		fmt.Fprintf(env.stdout, "%s\nbeep %s\n", formatSteps(seq), sequence.FormatBeepArgs(plan.Expected()))
		return ExitOK
	}
	addr, err := send.Resolve(ctx, c.host, c.network)
	if err != nil {
		return fail(ctx, env, ExitHost, err)
	}
	s := send.NewSender(addr, send.Options{Delay: delay, Clock: env.clock})
	start := env.clock.Now()
	if status := knockSteps(ctx, c, env, s, addr, seq, len(seq)); status != ExitOK {
		return status
	}
	fmt.Fprintf(env.stdout, "knocked %q into %v under the secret: %d knocks in %v; written %v, it plays for %v\n",
		song.Name, addr, len(seq), env.clock.Now().Sub(start).Round(time.Millisecond), song.Duration().Round(time.Millisecond), playTime(plan))
	return ExitOK
}

// formatSteps is a sequence as --dry-run and -v print it: PORT:PROTO,
// space-separated.
func formatSteps(seq []knock.Step) string {
	ports := make([]string, len(seq))
	for i, st := range seq {
		ports[i] = fmt.Sprintf("%d:%s", st.Port, st.Proto)
	}
	return strings.Join(ports, " ")
}

// knockSteps knocks steps in order with s (printing each with -v); of a
// sequence of total knocks, for knockFailed's count.
func knockSteps(ctx context.Context, c config, env environment, s *send.Sender, addr netip.Addr, steps []knock.Step, total int) int {
	for i, st := range steps {
		if c.verbose {
			fmt.Fprintf(env.stdout, "hitting %v %v:%d\n", st.Proto, addr, st.Port)
		}
		if err := s.Knock(ctx, send.Target{Port: st.Port, Proto: st.Proto}); err != nil {
			return knockFailed(ctx, env, err, i, total)
		}
	}
	return ExitOK
}

// printPlan is --dry-run's output: the song, the ports, the plan's
// run-length summary, how long knocking takes, and the beep command that
// plays what the daemon will compile from the plan.
func printPlan(w io.Writer, song sequence.Song, plan sequence.Plan, pacing, delay time.Duration) {
	p := plan.Protocol
	fmt.Fprintf(w, "song %q: %v format, %d tones, %v\n", song.Name, song.Format, len(song.Tones), song.Duration().Round(time.Millisecond))
	pitch := "no pitch knocks"
	for _, k := range plan.Knocks {
		if k.Kind == sequence.KnockPitch {
			pitch = fmt.Sprintf("pitch %d+note", p.PitchBase)
			break
		}
	}
	if plan.Knocks[0].Kind == sequence.KnockPitch && containsNote(plan) {
		fmt.Fprintf(w, "ports: notes %d-%d in units of %v, %s\n", p.NoteBase, int(p.NoteBase)+sequence.NotePorts-1, p.NoteUnit, pitch)
	} else {
		fmt.Fprintf(w, "ports: tone %d, silence %d, play %d, %s; step %v\n", p.TonePort, p.SilencePort, p.PlayPort, pitch, p.Step)
	}
	fmt.Fprintf(w, "%s\n", plan.Summary())
	fmt.Fprintf(w, "knocking takes about %v (%v between knocks); written %v, it plays for %v\n", pacing, delay, song.Duration().Round(time.Millisecond), playTime(plan))
	fmt.Fprintf(w, "beep %s\n", sequence.FormatBeepArgs(plan.Expected()))
}

func containsNote(plan sequence.Plan) bool {
	for _, k := range plan.Knocks {
		if k.Kind == sequence.KnockNote {
			return true
		}
	}
	return false
}

// playTime is how long the daemon plays the plan, to the millisecond (a
// song's tempo makes nanoseconds nobody wants to read).
func playTime(plan sequence.Plan) time.Duration {
	var d time.Duration
	for _, t := range plan.Expected() {
		d += t.Duration()
	}
	return d.Round(time.Millisecond)
}

// fail reports an error that stopped knock before its first knock.
func fail(ctx context.Context, env environment, status int, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "knock: interrupted before the first knock\n")
		return ExitInterrupted
	}
	fmt.Fprintln(env.stderr, errtext.Lines("knock: ", err))
	return status
}

// knockFailed reports an error that stopped knock at knock number i
// (counting from 0) of total, and chooses the exit status.
func knockFailed(ctx context.Context, env environment, err error, i, total int) int {
	if ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "knock: interrupted after %d of %d knocks: the sequence is incomplete\n", i, total)
		return ExitInterrupted
	}
	if errors.Is(err, os.ErrPermission) {
		fmt.Fprintf(env.stderr, "knock: knock %d of %d: %v\n"+
			"knock: the system refused to send: check the firewall's output rules, or the sandbox or container running knock\n", i+1, total, err)
		return ExitPermission
	}
	fmt.Fprintf(env.stderr, "knock: knock %d of %d: %v\n", i+1, total, err)
	return ExitFailure
}

var usage = strings.TrimLeft(`
usage: knock [options] HOST PORT[:PROTO] ...
       knock [options] --song SONG HOST
       knock [options] --song SONG --orchestra HOST1 HOST2 ...
       knock [options] --song SONG1 --song SONG2 ... --orchestra HOST1 HOST2 ...
       knock [options] --secret-file FILE --door NAME HOST
       knock [options] --secret-file FILE --door NAME --message TEXT HOST
       knock [options] --secret-file FILE --song SONG HOST

Knocks on HOST's ports one after the other, as knockd's client does: one
TCP SYN per PORT (exactly one, also when a firewall drops it), or with -u or
a ":udp" suffix one UDP datagram with a 1-byte payload. PORT is a number
1-65535 or a service name ("ssh"); PROTO is tcp or udp, and a suffix
overrides -u. HOST is a name, an IPv4 address or an IPv6 address
("fe80::1%eth0" and "[::1]" work too).

With --song, composes a song into the knocks of knockbeepd's music protocol
and knocks it in, as TCP SYNs or, with -u, as UDP datagrams (the daemon
takes both): a pitch knock before the first note (whatever the daemon's
default frequency) and wherever the pitch changes, a knock per step of tone
or silence, then the play knock. SONG is a song file (beep command lines,
RTTTL or MML) or, when no file has that name, one of the songs built into
knock: fur-elise, imperial-march, minuet-in-g, ode-to-joy,
three-voice-round, twinkle-twinkle. A song of several voices (MML voices
separated by commas) sends its first voice; --orchestra sends each voice
to a host of its own.
A song of more than 10000 steps is sent with a warning: knockbeepd keeps
that many steps of a pool unless its config raises [music] max_steps, and
plays the song cut short.

With --orchestra, knocks voice 1 of the song into HOST1, voice 2 into
HOST2, and so on (one HOST per voice), each without its play knock, then
one ensemble knock ([music] ensemble_port) into HOST1: in a knockbeepd
fleet ([cluster]) HOST1 cues every node to play the knocker's pool from
one instant 500 ms ahead, so the hosts' speakers play the voices
together. The voices may also be one song per voice: --song repeated, once
per HOST, each a song of one voice (a file or a built-in song) knocked
into the HOST in its place. It needs the daemons' static music ports, not
a secret.

With --secret-file, knocks a knockbeepd rotating door: its sequence is
derived from the key in FILE (made by knockbeepd --genkey; refused when
group or others may read it), the door's name and the current period, and
changes every period (docs/port-language.md). A sequence that was seen once
opens nothing again. With --song instead of --door, knocks the song into
music doors that take songs only under a secret ([music] secret_file): the
song's knocks packed into one frame of the period's code, authenticated by
the key, in any order; played once, refused if replayed (--parity as for
--message; --period, --port-range and --protocols as in [music]).

Options:
  -u, --udp            knock with UDP where a PORT has no :PROTO suffix, and
                       knock a song's knocks with UDP
  -d, --delay T        wait T between knocks: milliseconds ("100", "0.5") or
                       a duration ("500us", "2ms", "1s"); default 0, and 5ms
                       for --song (see Pacing)
  -4, --ipv4           use IPv4 only
  -6, --ipv6           use IPv6 only
  -v, --verbose        print each knock as it goes ("hitting tcp 192.0.2.1:22")
  -h, --help           print this help and exit
  -V, --version        print the version and exit

Song options (the protocol options must match the daemon's config):
      --song SONG      the song to knock in: a file, or a built-in song's name;
                       with --orchestra, once per voice if each is a song
      --dry-run        print the plan (a run-length summary of its knocks) and
                       the beep arguments the daemon will compile from it;
                       send nothing (HOST may be left out)
      --no-pitch       no pitch knocks: the rhythm only, at the daemon's
                       default frequency, as with the original three ports
      --notes          one knock per note, its pitch, length and the rest
                       after it (the daemon's note ports): the song at its
                       written rhythm in far fewer knocks
      --note-base N    the first of the 32768 note ports (default 32768)
      --note-unit T    the time unit of note lengths and rests (default 25ms)
      --ports T,S,P    the tone, silence and play ports (default 1000,1001,1002)
      --pitch-base N   the port of MIDI note 0: note n is knocked on N+n
                       (default 2000; 0 means the daemon has no pitch ports)
      --step T         the length of one step (default 100ms)
      --orchestra      one HOST per voice of the song, or per --song; then the
                       ensemble knock into the first HOST plays them together
                       (a fleet)
      --ensemble-port PORT  the daemons' [music] ensemble_port (default 1003)

Rotating-door options (the shape options must match the door's config):
      --secret-file FILE  the door's key
      --door NAME      the door's name
      --time-offset T  add T to this computer's clock ("-45s", "2m") when its
                       clock is known to be off
      --message TEXT   send TEXT (UTF-8) to a message door instead: its
                       knocks carry the text in any order (--port-range and
                       --protocols as the door's)
      --parity N       with --message: N knocks more, each recovering one
                       lost knock of its class (default 4; 0 to 64)
      --wait           the door has reply = true: send the last knock as a
                       UDP datagram and wait for the door's answer; exit 0
                       if it opened, 6 if it refused the knock, 7 without
                       an answer
      --wait-timeout T how long --wait waits (default 5s)
      --bind-source    the door has bind_source = true: derive the sequence
                       for the address this computer knocks HOST from
      --source-address ADDR  the same, for ADDR: the address the server sees
                       (a public address when a NAT lies between)
      --period T       the door's period (default 30s)
      --length N       knocks in its sequence (default 4)
      --port-range L-H where its knocks fall (default 20000-32767)
      --protocols P    tcp, udp or tcp,udp (default tcp)
      --dry-run        print the sequence and until when it is valid; send
                       nothing (HOST may be left out)
  -v prints the sequence, then each knock. The knocks are 5ms apart unless
  -d says otherwise (see Pacing).

Pacing:
  Every knock is a connection of its own, from a new source port to another
  port, so nothing but time keeps the knocks of a song in order: a server
  whose network card spreads connections over its CPUs may let a knock
  overtake the one before it when they come too close together. The default
  5ms between the knocks of a song had none out of place in 17,000 knocks into
  a busy two-CPU receiver that does spread them (1ms and 2ms had some), stays
  far below what knockbeepd keeps up with, and knocks the Imperial March in in
  under two seconds. Over the Internet, or through a router that takes a
  burst of SYNs for a port scan, raise it (-d 20). On a terminal, a song that
  takes longer than 2s to knock in shows a progress bar on stderr (not with
  -v). At the end knock prints how many knocks it sent and how long it took.

Unlike knockd's client, knock refuses an unknown :PROTO and a port outside
1-65535 instead of knocking somewhere else, checks every operand before the
first knock, lets a :tcp suffix override -u, stops at the first knock that
cannot be sent, and says why with the exit statuses below.

Exit status:
  0    every knock was sent (or --dry-run, --help, --version)
  1    a knock could not be sent (no route to the host, network down, ...)
  2    bad options or operands (unknown option, bad port, unknown protocol)
  3    the song cannot be read, parsed or composed
  4    the host cannot be resolved
  5    the system refused to send (a firewall's output rules, a sandbox)
  6    --wait: the door answered that it refused the knock (a replay)
  7    --wait: no authentic answer from the door within --wait-timeout
  130  interrupted (SIGINT or SIGTERM) part way through
  Exit statuses 2 to 4 mean nothing was sent.

Examples:
  knock myserver.example.com 123:tcp 456:udp 789:tcp
  knock -u -d 100 myserver.example.com 8284 4721 18592 42912
  knock -6 -v myserver.example.com ssh 7000:udp
  knock --song imperial-march --dry-run
  knock --song imperial-march --notes 192.0.2.1
  knock --song imperial-march 192.0.2.1
  knock --song songs/fur-elise.rtttl --no-pitch -d 20 myserver.example.com
  knock -u --song ode-to-joy myserver.example.com
  knock --song three-voice-round --notes --orchestra a b c
  knock --song violin.mml --song cello.mml --notes --orchestra a b
  knock --secret-file ~/.config/knockbeep/ssh.key --door ssh myserver.example.com
  knock --secret-file ssh.key --door ssh --time-offset -45s -v myserver.example.com
  knock --secret-file notify.key --door notify --message "deploy v1.2 ✓" myserver.example.com
`, "\n")
