package daemon

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/replaycache"
)

// reloadLoop reloads on every request from Options.Reload.
func (d *Daemon) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.opts.Reload:
			d.Reload()
		}
	}
}

// LoadConfig reads the config at path ("" for the built-in defaults),
// applies override (the command line's settings) and validates the
// result.
func LoadConfig(path string, override func(*config.Config)) (*config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	if override != nil {
		override(cfg)
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("%w (after the command line's settings)", err)
		}
	}
	return cfg, nil
}

// Reload rereads the config file (SIGHUP). The new config is checked
// first: one that does not parse or validate, or whose interfaces or
// speaker cannot be opened, is logged and returned as an error, and the
// old one stays in force. Otherwise the doors are replaced — attempts in
// progress on doors whose sequence, flags, timeout and targets did not
// change carry over — the kernel filter follows, the music doors take new
// ports, limits and allowed networks in place (pools, pitches and queued
// songs stay) and are rebuilt only for another speaker, state directory or
// pool mode, and the log file is reopened (logrotate).
func (d *Daemon) Reload() error {
	cfg, err := LoadConfig(d.opts.ConfigPath, d.opts.Override)
	if err != nil {
		d.log.Error("daemon: reload: the new config is not valid; keeping the old one", "err", err)
		return err
	}
	return d.Apply(cfg)
}

// Apply puts a valid config in force; see Reload.
//
// It prepares everything that takes I/O first, off the owner: the replay
// cache, the doors' sources (one-time files), the new interfaces' capture,
// and rebuilt music doors (the speaker and the pools read from disk). The
// owner then swaps the prepared state in between two knocks, which costs
// no I/O; what the new state replaced is closed afterwards, off the owner
// again. A failure anywhere leaves the old config in force.
func (d *Daemon) Apply(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		d.log.Error("daemon: reload: the new config is not valid; keeping the old one", "err", err)
		return err
	}
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.cfg // only a reload changes it, and reloadMu is ours
	fail := func(what string, err error) error {
		d.log.Error("daemon: reload: "+what+"; keeping the old config", "err", err)
		return err
	}

	// The doors' sources start again from the new config, as its
	// one-time files read now; the replay cache carries over.
	cache, err := d.openReplayCache(cfg)
	if err != nil {
		return fail(err.Error(), err)
	}
	closeCache := func() {
		if cache != d.replayCache {
			cache.Close()
		}
	}
	env := d.sourceEnv()
	if cache != nil {
		env.Replay = d.replayFor(cache)
	}
	doors, err := newDoorSet(cfg, env, d.opts.Clock.Now())
	if err != nil {
		closeCache()
		return fail(err.Error(), err)
	}
	// Open the new interfaces before touching anything, so that a
	// failure leaves the old capture running.
	var newCapt *capture.Capture
	if !d.capt.Load().FromFile() && !slices.Equal(interfaces(old), interfaces(cfg)) {
		f := filterFor(cfg, doors.doors, d.local.Load(), d.opts.OnlyIPv4)
		c, err := capture.Open(interfaces(cfg), f, d.captureOptions())
		if err != nil {
			closeCache()
			d.log.Error("daemon: reload: cannot capture on the new interfaces; keeping the old config", "interfaces", interfaces(cfg), "err", err)
			return err
		}
		newCapt = c
	}
	undo := func() {
		closeCache()
		if newCapt != nil {
			newCapt.Close()
		}
	}

	oldMusic := d.music // only a reload changes it
	musicChanged := musicRebuilt(old, cfg)
	musicInPlace := !musicChanged && oldMusic != nil && !reflect.DeepEqual(old.Music, cfg.Music)
	// An unchanged speaker is handed over rather than opened twice
	// (FreeBSD's speaker(4) opens only once).
	var keptSpeaker beeper.Speaker
	if musicChanged && cfg.Music.Enabled && oldMusic != nil && oldMusic.spec == cfg.Speaker {
		keptSpeaker = oldMusic.speaker
	}
	// New music doors that read the pool files the old ones append to
	// (another speaker, the same state directory and pool mode) must
	// not miss a step: the owner swaps them in only if the old ones took
	// no knock and forgot no source while the pools were read, and a
	// reload that keeps losing that race reads them on the owner.
	samePools := musicChanged && oldMusic != nil && cfg.Music.Enabled &&
		old.StateDir == cfg.StateDir && old.Music.Pools == cfg.Music.Pools
	const preparedTries = 3

	var kept int
	var oldCache *replaycache.Cache // replaced by cache, to close
	for try := 1; ; try++ {
		var newMusic *musicPart
		var mark musicMark
		loadOnOwner := samePools && try > preparedTries
		if musicChanged && cfg.Music.Enabled && !loadOnOwner {
			if samePools {
				mark = markOf(oldMusic)
			}
			if newMusic, err = d.newMusicPart(cfg, keptSpeaker); err != nil {
				undo()
				return fail("cannot set up the new music settings", err)
			}
			if d.musicPrepared != nil {
				d.musicPrepared(try)
			}
		}
		var swapErr error
		raced := false
		d.do(func() {
			if samePools && !loadOnOwner && markOf(oldMusic) != mark {
				raced = true
				return
			}
			if musicInPlace {
				if swapErr = oldMusic.m.Reload(musicOptions(cfg)); swapErr != nil {
					return
				}
			}
			if loadOnOwner {
				if newMusic, swapErr = d.newMusicPart(cfg, keptSpeaker); swapErr != nil {
					return
				}
			}
			oldCache = d.swap(cfg, doors, cache, newMusic, musicChanged, newCapt == nil)
			kept = d.matcher.Stats().Tracked
			d.warnIfIdle()
		})
		if raced || swapErr != nil {
			if newMusic != nil {
				newMusic.closePools(d.log)
				if keptSpeaker == nil {
					newMusic.closeSpeaker(d.log)
				}
			}
		}
		if swapErr != nil {
			undo()
			what := "cannot apply the new music settings"
			if loadOnOwner {
				what = "cannot set up the new music settings"
			}
			return fail(what, swapErr)
		}
		if !raced {
			break
		}
		d.log.Debug("daemon: reload: music knocks came while the pools were read; reading them again", "try", try)
	}

	// What the new state replaced is closed off the owner.
	if oldCache != nil {
		oldCache.Close()
	}
	if newCapt != nil {
		oldCapt := d.capt.Swap(newCapt)
		oldCapt.Close() // ends its Run; captureLoop goes on with the new one
	}
	if musicChanged && oldMusic != nil {
		oldMusic.closePools(d.log)
		if keptSpeaker == nil {
			oldMusic.closeSpeaker(d.log)
		}
	}

	var restart []string
	if d.logs != nil {
		restart = d.logs.reload(old.Log, cfg.Log)
	}
	if old.MaxAttempts != cfg.MaxAttempts {
		restart = append(restart, "max_attempts")
	}
	if old.PidFile != cfg.PidFile {
		restart = append(restart, "pid_file")
	}
	if !reflect.DeepEqual(old.Cluster, cfg.Cluster) {
		restart = append(restart, "[cluster]")
	}
	if len(restart) > 0 {
		d.log.Warn("daemon: reload: these settings take effect at the next restart", "settings", restart)
	}
	d.logDisabled(cfg)
	d.log.Info("daemon: config reloaded", "doors", len(cfg.Doors), "music", cfg.Music.Enabled,
		"music_rebuilt", musicChanged, "music_reloaded", musicInPlace, "interfaces", interfaces(cfg), "attempts_kept", kept)
	return nil
}

// swap puts a prepared config in force, on the owner: doors, replay
// cache, limiter, command timeouts, the matcher's doors and the music
// doors (newMusic, when they were rebuilt), and the kernel filter unless
// new interfaces' capture already has it (setFilter false). It returns
// the replay cache cache replaced, for the caller to close off the owner.
// Nothing here waits for I/O; stopping the old music doors' player waits
// for it to leave the speaker silent.
func (d *Daemon) swap(cfg *config.Config, doors *doorSet, cache *replaycache.Cache, newMusic *musicPart, musicChanged, setFilter bool) (replaced *replaycache.Cache) {
	if musicChanged {
		if old := d.music; old != nil {
			if q := old.m.Stats().Queued; q > 0 {
				d.log.Warn("daemon: reload: the speaker, state directory or pool mode changed; songs still queued stay archived, unplayed", "songs", q)
			}
			old.halt()
		}
		if newMusic != nil {
			newMusic.start()
		}
		d.music = newMusic
	}
	if cfg.RateLimit != d.cfg.RateLimit || cfg.RateBurst != d.cfg.RateBurst {
		d.limiter = newLimiter(cfg)
	}
	d.cfg = cfg
	d.doors = doors
	if cache != d.replayCache {
		replaced, d.replayCache = d.replayCache, cache
	}
	d.matcher.Reload(d.doors.doors)
	if setFilter {
		d.applyFilter()
	}
	return replaced
}

// A musicMark is what of the music doors' counters moves when they touch
// a pool file: a knock handled (a step, a play's archive) or a source
// forgotten (its pool deleted).
type musicMark struct{ knocks, forgotten uint64 }

func markOf(p *musicPart) musicMark {
	s := p.m.Stats()
	return musicMark{s.Knocks, s.Forgotten}
}
