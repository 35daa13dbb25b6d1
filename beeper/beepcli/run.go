package beepcli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// Env is what Run takes from the world. The zero value means the real
// one; tests replace parts of it.
type Env struct {
	// Open opens a speaker spec: "auto", or "wav:PATH" for --wav.
	Open func(spec string, opts beeper.Options) (beeper.Speaker, error)
	// OpenDevice opens the device given with -e.
	OpenDevice func(path string, opts beeper.Options) (beeper.Speaker, error)
	Clock      clock.Clock
	Getenv     func(key string) string
	// IDs returns the real and effective user and group IDs.
	IDs func() (uid, euid, gid, egid int)
}

// Run is beep: it parses args (without the program name), plays, and
// returns the exit status. Cancelling ctx stops the sound and returns 1,
// as beep does on a signal.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Env{}.Run(ctx, args, stdin, stdout, stderr)
}

// Run is beep with e's view of the world.
func (e Env) Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e.defaults()
	r := &runner{env: e, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := r.run(ctx, args); err != nil {
		var ue *usageError
		switch {
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "beep: Error: %s\n\n%s", ue.msg, Usage)
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			// Stopped by a signal: the speaker is silent; say nothing.
		default:
			fmt.Fprintf(stderr, "beep: Error: %s\n", err)
		}
		return 1
	}
	return 0
}

func (e *Env) defaults() {
	if e.Open == nil {
		e.Open = beeper.Open
	}
	if e.OpenDevice == nil {
		e.OpenDevice = beeper.OpenDevice
	}
	if e.Clock == nil {
		e.Clock = clock.System()
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.IDs == nil {
		e.IDs = func() (int, int, int, int) { return os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid() }
	}
}

type runner struct {
	env            Env
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

func (r *runner) run(ctx context.Context, args []string) error {
	// Like beep 1.4: a setuid or setgid beep is an old, dangerous set-up
	// (CVE-2018-0492); give the user access to the device instead.
	if uid, euid, gid, egid := r.env.IDs(); uid != euid || gid != egid {
		return errors.New("running setuid or setgid, which is not supported for security reasons; " +
			"remove the setuid/setgid bit and give the user write access to the speaker device instead")
	}

	ext, rest, index, err := splitArgs(args)
	if err != nil {
		return err
	}
	cmd, err := sequence.ParseBeepArgs(rest)
	if err != nil {
		var pe *sequence.BeepUsageError
		if errors.As(err, &pe) {
			at := pe.Index
			if at >= 0 && at < len(index) {
				at = index[at] // its place in our args, not in the ones left for beep
			}
			msg := fmt.Sprintf("argument %d %q: %s", at+1, pe.Arg, pe.Problem)
			if !pe.Usage {
				return errors.New(msg)
			}
			return &usageError{msg}
		}
		return err
	}
	if cmd.Help {
		fmt.Fprint(r.stdout, Usage)
		return nil
	}
	if cmd.Version {
		fmt.Fprint(r.stdout, VersionText())
		return nil
	}
	r.log = newLogger(r.stderr, r.env.Getenv("BEEP_LOG_LEVEL"), cmd.Verbose)
	for _, w := range cmd.Warnings {
		fmt.Fprintf(r.stderr, "beep: Warning: %s\n", w)
	}
	if err := checkCombinations(ext, cmd); err != nil {
		return err
	}

	song := beeper.Song{Name: "beep"}
	if ext.song != "" {
		s, err := songs.Load(ext.song)
		if err != nil {
			return err
		}
		song = beeper.Song{Name: songName(s.Name, ext.song), Tones: s.Tones}
	}
	if ext.print {
		tones := song.Tones
		if ext.song == "" {
			tones = cmd.Tones()
		}
		fmt.Fprintln(r.stdout, sequence.FormatBeepArgs(tones))
		return nil
	}

	if ext.wav != "" {
		if err := checkWAVLength(ext, song, cmd); err != nil {
			return err
		}
	}
	speaker, err := r.openSpeaker(ext, cmd)
	if err != nil {
		return err
	}
	player := beeper.NewPlayer(speaker, beeper.PlayerOptions{Clock: r.env.Clock, Logger: r.log})
	if ext.song != "" {
		err = r.play(ctx, player, song)
	} else {
		err = r.playNotes(ctx, player, cmd.Notes, ext.wav != "")
	}
	if cerr := speaker.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkCombinations refuses options that contradict each other.
func checkCombinations(ext extensions, cmd sequence.BeepCommand) error {
	stdinNotes := false
	for _, n := range cmd.Notes {
		stdinNotes = stdinNotes || n.Stdin != sequence.StdinNone
	}
	switch {
	case ext.song != "" && !reflect.DeepEqual(cmd.Notes, []sequence.BeepNote{sequence.DefaultBeepNote()}):
		return &usageError{"--song plays the file's tones: it cannot be combined with tone options (-f -l -r -d -D -n -s -c)"}
	case ext.print && (ext.wav != "" || cmd.Device != ""):
		return &usageError{"--print plays nothing: it cannot be combined with --wav or -e"}
	case ext.print && stdinNotes:
		return &usageError{"--print cannot print -s or -c: how often they play depends on the input"}
	case ext.wav != "" && cmd.Device != "":
		return &usageError{"--wav renders instead of sounding a device: it cannot be combined with -e"}
	case ext.wavRate != 0 && ext.wav == "":
		return &usageError{"--wav-rate needs --wav"}
	}
	return nil
}

// checkWAVLength refuses, before any file is written, a song longer than
// a WAV file can hold. Notes played per line of input (-s, -c) have no
// length known in advance: the WAV speaker stops them at the limit and
// removes its file.
func checkWAVLength(ext extensions, song beeper.Song, cmd sequence.BeepCommand) error {
	total := songLength(song.Tones)
	if ext.song == "" {
		total = notesLength(cmd.Notes)
	}
	if limit := beeper.WAVCapacity(ext.wavRate); total > limit {
		return fmt.Errorf("beep: the notes last %v, longer than a WAV file holds at %d Hz (%v): nothing written",
			total, cmp.Or(ext.wavRate, beeper.DefaultWAVRate), limit)
	}
	return nil
}

func songLength(tones []sequence.Tone) time.Duration {
	var total time.Duration
	for _, t := range tones {
		total += t.Duration()
	}
	return total
}

// notesLength is how long beep's notes play, without making their tones:
// -r 300000 on a few notes would make millions. A note's length grows by
// the same amount with each repetition.
func notesLength(notes []sequence.BeepNote) time.Duration {
	var total time.Duration
	for _, n := range notes {
		if n.Reps <= 0 {
			continue
		}
		one, two := n, n
		one.Reps, two.Reps = 1, 2
		first := songLength(one.Tones())
		total += first + time.Duration(n.Reps-1)*(songLength(two.Tones())-first)
		if total > 1<<62 {
			break // far past any limit, and before it overflows
		}
	}
	return total
}

// songName is the song's own name, or else its file's.
func songName(name, path string) string {
	if name != "" {
		return name
	}
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// openSpeaker opens the speaker once, before anything plays: --wav's
// file, the -e device, or the first that works of the machine's.
func (r *runner) openSpeaker(ext extensions, cmd sequence.BeepCommand) (beeper.Speaker, error) {
	opts := beeper.Options{Logger: r.log, WAVRate: ext.wavRate}
	switch {
	case ext.wav != "":
		return r.env.Open("wav:"+ext.wav, opts)
	case cmd.Device != "":
		return r.env.OpenDevice(cmd.Device, opts)
	}
	s, err := r.env.Open("auto", opts)
	if err != nil {
		// beep 1.4 falls back to the console even where no driver sounds
		// it, and exits 0: scripts that end in "&& beep" rely on that. So
		// do the same; opening the console says that nothing will sound
		// and what to load.
		if c, cerr := r.env.Open("console", opts); cerr == nil {
			return c, nil
		}
		// beep's last resort: the terminal's bell, if stdout is one.
		if f, ok := r.stdout.(*os.File); ok {
			if fi, serr := f.Stat(); serr == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprint(f, "\a")
			}
		}
		return nil, fmt.Errorf("%w; to render instead, use --wav FILE.wav", err)
	}
	return s, nil
}

// play plays one song; the Player logs the file a WAV speaker wrote.
func (r *runner) play(ctx context.Context, p *beeper.Player, song beeper.Song) error {
	_, err := p.Play(ctx, song)
	return err
}

// playNotes plays beep's notes in order. Notes with -s or -c play once per
// line or byte of stdin, which is copied to stdout as it comes; the others
// play as soon as they are reached. When rendering (batch), everything,
// stdin's plays included, goes into one song, so one WAV file holds it.
func (r *runner) playNotes(ctx context.Context, p *beeper.Player, notes []sequence.BeepNote, batch bool) error {
	var input *stdinChunks
	defer func() {
		if input != nil {
			input.stop()
		}
	}()
	var pending []sequence.Tone
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := r.play(ctx, p, beeper.Song{Name: "beep", Tones: pending})
		pending = nil
		return err
	}
	for _, n := range notes {
		if n.Stdin == sequence.StdinNone {
			pending = append(pending, n.Tones()...)
			continue
		}
		if !batch {
			if err := flush(); err != nil {
				return err
			}
		}
		if input == nil {
			input = readStdin(r.stdin)
		}
		for {
			chunk, err := input.next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			// Like beep: -s plays once per line, -c once per byte of it.
			units := [][]byte{chunk}
			if n.Stdin == sequence.StdinChar {
				units = units[:0]
				for i := range chunk {
					units = append(units, chunk[i:i+1])
				}
			}
			for _, u := range units {
				r.stdout.Write(u)
				pending = append(pending, n.Tones()...)
				if !batch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}
	return flush()
}

// stdinLineMax is the size of beep's fgets buffer: a longer line reads,
// and plays, as several.
const stdinLineMax = 4096 - 1

// stdinChunks reads stdin as beep's fgets does, in a goroutine so that a
// signal stops beep even while it waits for input.
type stdinChunks struct {
	chunks chan []byte
	err    error // after chunks is closed: io.EOF or the read error
	done   chan struct{}
}

func readStdin(r io.Reader) *stdinChunks {
	s := &stdinChunks{chunks: make(chan []byte), done: make(chan struct{})}
	go func() {
		defer close(s.chunks)
		br := bufio.NewReaderSize(r, stdinLineMax+1)
		for {
			chunk, err := readChunk(br)
			if len(chunk) > 0 {
				select {
				case s.chunks <- chunk:
				case <-s.done:
					return
				}
			}
			if err != nil {
				s.err = err
				return
			}
		}
	}()
	return s
}

// readChunk reads up to and including a newline, at most stdinLineMax
// bytes.
func readChunk(br *bufio.Reader) ([]byte, error) {
	var chunk []byte
	for len(chunk) < stdinLineMax {
		c, err := br.ReadByte()
		if err != nil {
			return chunk, err
		}
		chunk = append(chunk, c)
		if c == '\n' {
			break
		}
	}
	return chunk, nil
}

func (s *stdinChunks) next(ctx context.Context) ([]byte, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case chunk, ok := <-s.chunks:
		if !ok {
			if s.err != io.EOF {
				return nil, fmt.Errorf("reading standard input: %w", s.err)
			}
			return nil, io.EOF
		}
		return chunk, nil
	}
}

func (s *stdinChunks) stop() { close(s.done) }

// newLogger logs to stderr at the level beep's BEEP_LOG_LEVEL (a number,
// default 0; invalid values are ignored, as beep does) and --verbose or
// --debug (one more) select: below 0 errors only, 0 warnings, 1 what
// beep says with --verbose (which speaker, which file), 2 and up
// everything.
func newLogger(w io.Writer, envLevel string, verbose bool) *slog.Logger {
	level := 0
	if n, err := strconv.Atoi(envLevel); err == nil && n >= -999 && n <= 999 {
		level = n
	}
	if verbose {
		level++
	}
	var l slog.Level
	switch {
	case level < 0:
		l = slog.LevelError
	case level == 0:
		l = slog.LevelWarn
	case level == 1:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	return slog.New(&lineHandler{w: w, level: l, mu: new(sync.Mutex)})
}

// lineHandler prints log records the way beep 1.4 prints its messages,
// "beep: Warning: text", with the record's attributes after the text as
// key=value pairs.
type lineHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex // shared with the handlers WithAttrs derives
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("beep: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("Error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("Warning: ")
	case r.Level >= slog.LevelInfo:
		b.WriteString("Info: ")
	default:
		b.WriteString("Debug: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, level: h.level, attrs: append(slices.Clip(h.attrs), attrs...), mu: h.mu}
}

// WithGroup is not needed by anything beep logs: groups are flattened.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }
