package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// DemoOptions adjust Demo.
type DemoOptions struct {
	// Song is a song file, or the name of a built-in song; "" is the
	// Imperial March.
	Song string
	// Speaker is the speaker spec; "" is auto (a WAV file when the
	// machine has no speaker).
	Speaker string
	// StateDir is where the pools and the played song go; "" makes a
	// fresh temporary directory, which is kept and printed.
	StateDir string
	// Notes knocks the song one knock per note (the note ports) instead
	// of one knock per step.
	Notes bool
	// Verbose and Debug show the daemon's log (warnings only otherwise).
	Verbose, Debug bool
}

// demoSettle is how long the demo waits, after its last knock, for the
// play knock to take effect before it says knocks were lost.
const demoSettle = 3 * time.Second

// Demo shows the whole machine in one command: it starts the daemon with
// the built-in config on the loopback interface, knocks a song into it
// with the music protocol (one SYN per step, pitch knocks where the tune
// moves, then the play knock), waits for the song to play, and says where
// the music went and whether the daemon got exactly what was composed.
func Demo(ctx context.Context, o DemoOptions, stdout, stderr io.Writer) error {
	song, err := demoSong(o.Song)
	if err != nil {
		return err
	}
	cfg := config.Default()
	plan, err := sequence.Compose(song.Tones, cfg.Music.Protocol, sequence.ComposeOptions{Notes: o.Notes})
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	lo, addr, err := loopback()
	if err != nil {
		return err
	}
	madeDir := false
	if o.StateDir == "" {
		if o.StateDir, err = os.MkdirTemp("", "knockbeepd-demo-"); err != nil {
			return fmt.Errorf("--demo: a state directory: %w", err)
		}
		madeDir = true
	}
	cfg.Interfaces = []string{lo}
	cfg.StateDir = o.StateDir
	if o.Speaker != "" {
		cfg.Speaker = o.Speaker
	}
	// The demo tells its own story; the daemon's log only when asked or
	// when something goes wrong.
	cfg.Log = config.Log{Level: slog.LevelError, Format: config.LogText, Stderr: true}
	if o.Verbose {
		cfg.Log.Level = slog.LevelInfo
	}
	if o.Debug {
		cfg.Log.Level = slog.LevelDebug
	}

	d, err := New(cfg, Options{Stderr: stderr})
	if err != nil {
		if madeDir {
			os.RemoveAll(o.StateDir) // nothing happened in it
		}
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("--demo needs root (or CAP_NET_RAW) to capture the knocks on %s: run it as  sudo knockbeepd --demo\n(%v)", lo, err)
		}
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()
	speaker, isWAV := d.speakerName()
	summary := plan.Summary()
	summary = summary[strings.LastIndexByte(summary, '\n')+1:] // the totals line
	fmt.Fprintf(stdout, "knockbeepd is listening on %s (state directory %s)\n", lo, o.StateDir)
	fmt.Fprintf(stdout, "knocking %q into %v, one SYN per knock, %v apart:\n  %s\n", song.Name, addr, client.DefaultSongDelay, summary)

	start := time.Now()
	s := send.NewSender(addr, send.Options{Delay: client.DefaultSongDelay})
	for i, k := range plan.Knocks {
		if err := s.Knock(ctx, send.Target{Port: k.Port(plan.Protocol), Proto: knock.TCP}); err != nil {
			stop()
			<-ran
			return fmt.Errorf("--demo: knock %d of %d: %w", i+1, len(plan.Knocks), err)
		}
	}
	fmt.Fprintf(stdout, "sent %d knocks in %v\n", len(plan.Knocks), time.Since(start).Round(time.Millisecond))
	fmt.Fprintln(stdout, demoComparison(song, plan, o.Notes))
	if !isWAV {
		fmt.Fprintf(stdout, "playing on %s for %v...\n", speaker, songLength(plan.Expected()).Round(100*time.Millisecond))
	}

	err = waitPlayed(ctx, d, songLength(plan.Expected())+demoSettle)
	stats := d.Stats()
	received := stats.Music.Knocks
	stop()
	if rerr := <-ran; rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("--demo: %w (the daemon received %d of the %d knocks; run with -v to see its log)", err, received, len(plan.Knocks))
	}
	if err := demoReport(stdout, o.StateDir, plan, received, speaker, cfg.Speaker == "auto"); err != nil {
		if stats.Capture.Drops > 0 {
			err = fmt.Errorf("%w: the kernel dropped %d packets before the daemon could read them (is the machine overloaded?)", err, stats.Capture.Drops)
		}
		return err
	}
	return nil
}

// demoComparison says, honestly, what the knocks carry: how many were
// sent, how long the song lasts as written and how long it plays as
// knocked, and the other encoding's figures beside them.
func demoComparison(song sequence.Song, plan sequence.Plan, notes bool) string {
	written, played := song.Duration().Round(time.Millisecond), songLength(plan.Expected()).Round(time.Millisecond)
	line := fmt.Sprintf("%d knocks; the song lasts %v as written and plays %v as knocked", len(plan.Knocks), written, played)
	other, err := sequence.Compose(song.Tones, plan.Protocol, sequence.ComposeOptions{Notes: !notes})
	if err != nil {
		return line
	}
	how := "one knock per note (--notes)"
	if notes {
		how = "one knock per 100ms step (without --notes)"
	}
	return fmt.Sprintf("%s; %s would take %d knocks and play %v", line, how, len(other.Knocks), songLength(other.Expected()).Round(time.Millisecond))
}

// demoSong reads a song file, or else a built-in song by name.
func demoSong(name string) (sequence.Song, error) {
	if name == "" {
		name = songs.ImperialMarch
	}
	song, err := songs.Load(name)
	if err != nil {
		return sequence.Song{}, &demoSongError{fmt.Errorf("--demo: %w", err)}
	}
	return song, nil
}

// A demoSongError is a song --demo cannot read: a bad command line, not a
// daemon that could not start.
type demoSongError struct{ err error }

func (e *demoSongError) Error() string { return e.err.Error() }
func (e *demoSongError) Unwrap() error { return e.err }

// loopback finds the loopback interface (lo on Linux, lo0 on FreeBSD) and
// the address to knock on it.
func loopback() (string, netip.Addr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("--demo: listing interfaces: %w", err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback == 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		var v6 netip.Addr
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(ipn.IP)
				switch ip = ip.Unmap(); {
				case ip.Is4() && ip.IsLoopback():
					return ifc.Name, ip, nil
				case ip == netip.IPv6Loopback():
					v6 = ip
				}
			}
		}
		if v6.IsValid() {
			return ifc.Name, v6, nil
		}
	}
	return "", netip.Addr{}, errors.New("--demo: no loopback interface is up with a loopback address: bring it up (ip link set lo up)")
}

// waitPlayed waits until the daemon has played a song, or gives up after
// limit.
func waitPlayed(ctx context.Context, d *Daemon, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		m := d.Stats().Music
		switch {
		case m.PlayErrors > 0:
			return errors.New("the song could not be played: see the log above")
		case m.Played > 0:
			return nil
		case time.Now().After(deadline):
			return errors.New("no song was played: knocks were lost (a firewall on lo?)")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// demoReport prints where the song went and checks what the daemon
// composed against the plan.
func demoReport(w io.Writer, stateDir string, plan sequence.Plan, received uint64, speaker string, auto bool) error {
	played := filepath.Join(stateDir, "played")
	pools, _ := filepath.Glob(filepath.Join(played, "*.pool"))
	if len(pools) == 0 {
		return fmt.Errorf("--demo: the song played but no archived pool is in %s", played)
	}
	slices.Sort(pools) // names start with the time
	poolPath := pools[len(pools)-1]
	f, err := os.Open(poolPath)
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	steps, _, err := sequence.LoadPool(f, sequence.PoolOptions{})
	f.Close()
	if err != nil {
		return fmt.Errorf("--demo: reading the archived pool: %w", err)
	}
	tones := sequence.Compile(steps)
	notes := 0
	for _, t := range tones {
		if t.Freq > 0 && t.Length > 0 {
			notes++
		}
	}
	verdict := "exactly as composed"
	same := slices.Equal(tones, plan.Expected())
	if !same {
		verdict = "NOT as composed: knocks were lost or reordered (or another program knocked on lo meanwhile)"
	}
	all := "all"
	if received != uint64(len(plan.Knocks)) {
		all = fmt.Sprintf("%d of the", received)
	}
	fmt.Fprintf(w, "the daemon received %s %d knocks: %d steps, %d notes, %v of music, %s\n",
		all, len(plan.Knocks), len(steps), notes, songLength(tones).Round(100*time.Millisecond), verdict)
	wav := strings.TrimSuffix(poolPath, ".pool") + ".wav"
	switch _, err := os.Stat(wav); {
	case err == nil && auto:
		fmt.Fprintf(w, "no speaker on this machine, so the song went to a WAV file:\n  wav:  %s\n", wav)
	case err == nil:
		fmt.Fprintf(w, "the song went to a WAV file:\n  wav:  %s\n", wav)
	default:
		fmt.Fprintf(w, "played on %s\n", speaker)
	}
	fmt.Fprintf(w, "  pool: %s\n", poolPath)
	fmt.Fprintf(w, "it compiles to: beep %s\n", truncate(sequence.FormatBeepArgs(tones), 120))
	if !same {
		return errors.New("--demo: the daemon did not get the song as composed")
	}
	return nil
}

// speakerName names the music doors' speaker, for the demo's report, and
// says whether it writes WAV files (auto's fallback, or wav:PATH).
func (d *Daemon) speakerName() (name string, isWAV bool) {
	d.do(func() {
		if d.music == nil {
			name = "no speaker (music off)"
			return
		}
		name = d.music.speaker.String()
		isWAV = strings.HasPrefix(name, "wav ")
	})
	return name, isWAV
}

func songLength(tones []sequence.Tone) time.Duration {
	var total time.Duration
	for _, t := range tones {
		total += t.Duration()
	}
	return total
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " ..."
}
