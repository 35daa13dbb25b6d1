package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/music"
	"github.com/knockbeep/knockbeep/sequence"
)

// A musicPart is the music doors: the pools (package music), the speaker
// they play on, and the goroutine that plays.
type musicPart struct {
	m       *music.Music
	speaker beeper.Speaker
	spec    string // the speaker spec it was opened from
	cancel  context.CancelFunc
	done    chan struct{}
}

// newMusicPart opens cfg's pools, and cfg's speaker unless sp is given (a
// reload that keeps the speaker). With speaker "auto" and no speaker on
// the machine, songs go to WAV files under STATE_DIR/wav/, which are moved
// beside their pools under STATE_DIR/played/. With speaker wav:PATH the
// WAV files stay where PATH says, and played/ gets a link or a copy
// (wavFiles). Nothing plays until start.
func (d *Daemon) newMusicPart(cfg *config.Config, sp beeper.Speaker) (*musicPart, error) {
	log := d.log
	opened := false
	if sp == nil {
		var err error
		sp, err = beeper.Open(cfg.Speaker, beeper.Options{Logger: log, WAVDir: filepath.Join(cfg.StateDir, "wav")})
		if err != nil {
			return nil, err
		}
		opened = true
	}
	opts := musicOptions(cfg)
	opts.WAVFiles = wavFiles(cfg.Speaker)
	opts.Player = songPlayer{beeper.NewPlayer(sp, beeper.PlayerOptions{Logger: log})}
	opts.Logger = log
	opts.Clock = d.opts.Clock
	m, err := music.New(opts)
	if err != nil {
		if opened {
			sp.Close()
		}
		return nil, err
	}
	return &musicPart{m: m, speaker: sp, spec: cfg.Speaker}, nil
}

// start starts playing the songs knocked in.
func (p *musicPart) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.m.Run(ctx)
	}()
}

// halt stops playback at once: the song playing is cut off, and the
// player leaves the speaker silent.
func (p *musicPart) halt() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
		p.cancel = nil
	}
}

// closePools syncs and closes every pool. Songs still queued stay
// archived, unplayed (package music logs them).
func (p *musicPart) closePools(log *slog.Logger) {
	if err := p.m.Close(); err != nil {
		log.Error("daemon: "+err.Error(), "hint", "the pools' last steps may not be on disk")
	}
}

// closeSpeaker releases the speaker, silent.
func (p *musicPart) closeSpeaker(log *slog.Logger) {
	if err := p.speaker.Close(); err != nil {
		log.Error("daemon: closing the speaker", "speaker", p.speaker.String(), "err", err)
	}
}

// waitIdle waits until every song queued has been played (replay mode).
func (p *musicPart) waitIdle(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s := p.m.Stats()
		if s.Queued == 0 && s.Played+s.PlayErrors == s.Plays {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// musicOptions are the music settings of cfg: those music.New takes from
// the config, all of which but the state directory and the pool mode
// (Shared) a reload can change in place (music.Reload).
func musicOptions(cfg *config.Config) music.Options {
	return music.Options{
		Protocol:           cfg.Music.Protocol,
		StateDir:           cfg.StateDir,
		Shared:             cfg.Music.Pools == config.PoolsShared,
		MaxPoolSteps:       cfg.Music.MaxPoolSteps,
		MaxPools:           cfg.Music.MaxPools,
		Allow:              cfg.Music.Allow,
		QueueLen:           cfg.Music.QueueLen,
		RefusalLogInterval: cfg.Music.RefusalLogInterval,
		KeepPlayed:         cfg.Music.KeepPlayed,
		KeepPlayedBytes:    int64(cfg.Music.KeepPlayedMiB) << 20,
		PoolIdleTimeout:    cfg.Music.PoolIdleTimeout,
	}
}

// wavFiles says whose the WAV files of a speaker spec are: an explicit
// wav:PATH's are the user's, left where PATH says (a directory gets one
// file per song, linked into played/; a file is rewritten by every song,
// so played/ gets a copy). Any other spec writes WAV files only as auto's
// fallback, under the state directory: Music's own, moved into played/.
func wavFiles(spec string) music.WAVFiles {
	s, err := beeper.ParseSpec(spec)
	if err != nil || s.Kind != "wav" {
		return music.MoveWAV
	}
	if fi, err := os.Stat(s.Path); err == nil && fi.IsDir() {
		return music.LinkWAV
	}
	return music.CopyWAV
}

// musicRebuilt reports whether going from config a to b takes new music
// doors: turning them on or off, or another speaker, state directory or
// pool mode. Other music settings change in place, keeping the pitches
// and the songs in flight.
func musicRebuilt(a, b *config.Config) bool {
	return a.Music.Enabled != b.Music.Enabled || a.Speaker != b.Speaker ||
		a.StateDir != b.StateDir || a.Music.Pools != b.Music.Pools
}

// songPlayer adapts beeper.Player to music.Player.
type songPlayer struct{ p *beeper.Player }

func (s songPlayer) Play(ctx context.Context, name string, tones []sequence.Tone) (string, error) {
	res, err := s.p.Play(ctx, beeper.Song{Name: name, Tones: tones})
	return res.WAVPath, err
}
