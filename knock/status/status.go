package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/knockbeep/knockbeep/knock/music"
	"github.com/knockbeep/knockbeep/sequence"
)

// A Snapshot is what the daemon tells the status page, taken by its owner
// when the page is asked for.
type Snapshot struct {
	Version    string
	Started    time.Time
	Interfaces []string // capture interfaces up now
	Doors      []Door
	Events     []Event // recent, newest last
}

// A Door is one door as the page shows it.
type Door struct {
	Name        string
	Kind        string // "sequence", "one-time", "rotating", "music", ...
	State       string // "open for 2 sources", "closed", "disabled: ...": the daemon's words
	OpensLastHr int
}

// An Event is one thing that happened: a door opened, a knock refused, a
// song played.
type Event struct {
	Time    time.Time
	Kind    string // "open", "refused", "song", ...
	Door    string
	Source  string
	Message string
}

// Options configures a Server.
type Options struct {
	// Listen is a TCP address ("127.0.0.1:9120", "[::1]:9120") or, when it
	// contains a slash, the path of a unix socket.
	Listen string
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Snapshot answers the page's questions about doors and events.
	Snapshot func(context.Context) (Snapshot, error)
	// PlayedDir is the music doors' archive (STATE_DIR/played); "" when
	// the music doors are off.
	PlayedDir string
	// Songs is how many of the newest played songs the page shows.
	Songs  int
	Logger *slog.Logger
}

// DefaultSongs is how many played songs the page shows unless told.
const DefaultSongs = 10

// A Server serves the metrics and the status page.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
}

// IsUnixSocket reports whether listen names a unix socket rather than a
// TCP address.
func IsUnixSocket(listen string) bool { return strings.Contains(listen, "/") }

// Listen binds opts.Listen. A unix socket left behind by a daemon that
// died is replaced; any other file there is an error.
func Listen(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Songs == 0 {
		opts.Songs = DefaultSongs
	}
	network := "tcp"
	if IsUnixSocket(opts.Listen) {
		network = "unix"
		if fi, err := os.Lstat(opts.Listen); err == nil {
			if fi.Mode().Type() != fs.ModeSocket {
				return nil, fmt.Errorf("status: listen %s: a file that is not a socket is in the way", opts.Listen)
			}
			if err := os.Remove(opts.Listen); err != nil {
				return nil, fmt.Errorf("status: remove the old socket: %w", err)
			}
		}
	}
	l, err := net.Listen(network, opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("status: listen on %s: %w", opts.Listen, err)
	}
	s := &Server{opts: opts, listener: l}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{opts.Logger}}))
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /played/{name}", s.wav)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
	return s, nil
}

// Addr is the address the server listens on (a TCP port chosen by the
// system for ":0").
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Close releases a server that will not Serve (its owner failed to
// start).
func (s *Server) Close() error {
	err := s.listener.Close()
	if IsUnixSocket(s.opts.Listen) {
		os.Remove(s.opts.Listen)
	}
	return err
}

// Serve serves until ctx ends, then shuts down within a second.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.http.Serve(s.listener) }()
	select {
	case err := <-done:
		return fmt.Errorf("status: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdown)
	if IsUnixSocket(s.opts.Listen) {
		os.Remove(s.opts.Listen)
	}
	if err != nil {
		return fmt.Errorf("status: shut down: %w", err)
	}
	return nil
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.log.Warn("metrics", "error", fmt.Sprint(v...)) }

// A song is one played song as the page shows it.
type song struct {
	Name     string // the archive's file stem: TIME_ADDR[-N]
	Time     time.Time
	Source   string
	Notes    int
	Duration time.Duration
	BeepArgs string
	Roll     template.HTML
	WAV      string // URL path, "" when no WAV was written
	Err      string
}

// songs reads the newest played songs from the archive.
func (s *Server) songs() ([]song, error) {
	if s.opts.PlayedDir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(s.opts.PlayedDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stems []string
	wavs := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".pool") && e.Type().IsRegular():
			stems = append(stems, strings.TrimSuffix(name, ".pool"))
		case strings.HasSuffix(name, ".wav") && e.Type().IsRegular():
			wavs[strings.TrimSuffix(name, ".wav")] = true
		}
	}
	slices.Sort(stems) // time-stamped names: oldest first
	slices.Reverse(stems)
	var out []song
	for _, stem := range stems {
		if len(out) == s.opts.Songs {
			break
		}
		when, src, ok := music.ParseArchiveName(stem)
		if !ok {
			continue
		}
		sg := song{Name: stem, Time: when, Source: src}
		if wavs[stem] {
			sg.WAV = "/played/" + stem + ".wav"
		}
		tones, err := compileArchived(filepath.Join(s.opts.PlayedDir, stem+".pool"))
		if err != nil {
			sg.Err = err.Error()
		} else {
			for _, t := range tones {
				sg.Duration += t.Duration()
				if sounds(t) {
					sg.Notes++
				}
			}
			sg.BeepArgs = sequence.FormatBeepArgs(tones)
			sg.Roll = Roll(tones)
		}
		out = append(out, sg)
	}
	return out, nil
}

// maxArchivedSteps bounds what the page reads of one pool: the daemon's
// own max_steps may be higher than its default, never this high in practice.
const maxArchivedSteps = 1 << 20

func compileArchived(path string) ([]sequence.Tone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	steps, _, err := sequence.LoadPool(f, sequence.PoolOptions{MaxPoolSteps: maxArchivedSteps})
	if err != nil {
		return nil, err
	}
	return sequence.Compile(steps), nil
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	snap, err := s.opts.Snapshot(r.Context())
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	songs, err := s.songs()
	if err != nil {
		s.opts.Logger.Warn("status page: reading the played songs", "error", err)
	}
	var buf bytes.Buffer
	err = pageTemplate.Execute(&buf, struct {
		Snapshot
		Songs    []song
		SongsErr error
		Now      time.Time
	}{snap, songs, err, time.Now()})
	if err != nil {
		s.opts.Logger.Error("status page", "error", err)
		http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; img-src 'self'")
	w.Write(buf.Bytes())
}

// wav serves one archived WAV file: the name must be an archived song's,
// so nothing else on the disk can be asked for.
func (s *Server) wav(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	stem, ok := strings.CutSuffix(name, ".wav")
	if _, _, valid := music.ParseArchiveName(stem); !ok || !valid || s.opts.PlayedDir == "" || strings.ContainsAny(stem, `/\`) || strings.Contains(stem, "..") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	http.ServeFile(w, r, filepath.Join(s.opts.PlayedDir, stem+".wav"))
}
