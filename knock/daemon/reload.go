package daemon

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/config"
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
func (d *Daemon) Apply(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		d.log.Error("daemon: reload: the new config is not valid; keeping the old one", "err", err)
		return err
	}
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	old := d.cfg
	d.mu.Unlock()

	// Open the new interfaces before touching anything, so that a
	// failure leaves the old capture running.
	// The doors' sources start again from the new config, as its
	// one-time files read now; the replay cache carries over.
	cache, err := d.openReplayCache(cfg)
	if err != nil {
		d.log.Error("daemon: reload: "+err.Error()+"; keeping the old config", "err", err)
		return err
	}
	env := d.sourceEnv()
	if cache != nil {
		env.Replay = cache
	}
	doors, err := newDoorSet(cfg.Doors, env, d.opts.Clock.Now())
	if err != nil {
		d.log.Error("daemon: reload: "+err.Error()+"; keeping the old config", "err", err)
		return err
	}
	var newCapt *capture.Capture
	if !d.capt.Load().FromFile() && !slices.Equal(interfaces(old), interfaces(cfg)) {
		f := filterFor(cfg, doors.doors, d.local.Load(), d.opts.OnlyIPv4)
		c, err := capture.Open(interfaces(cfg), f, d.captureOptions())
		if err != nil {
			d.log.Error("daemon: reload: cannot capture on the new interfaces; keeping the old config", "interfaces", interfaces(cfg), "err", err)
			return err
		}
		newCapt = c
	}

	d.mu.Lock()
	// The music doors change under the owner lock: in place, between two
	// knocks; or rebuilt, with no knock appended to a pool between the
	// new Music loading it and taking over from the old one. An unchanged
	// speaker is handed over rather than opened twice (FreeBSD's
	// speaker(4) opens only once).
	fail := func(what string, err error) error {
		d.mu.Unlock()
		if newCapt != nil {
			newCapt.Close()
		}
		d.log.Error("daemon: reload: "+what+"; keeping the old config", "err", err)
		return err
	}
	oldMusic, newMusic := d.music, d.music
	musicChanged := musicRebuilt(old, cfg)
	musicReloaded := false
	keepSpeaker := false
	if !musicChanged && oldMusic != nil && !reflect.DeepEqual(old.Music, cfg.Music) {
		if err := oldMusic.m.Reload(musicOptions(cfg)); err != nil {
			return fail("cannot apply the new music settings", err)
		}
		musicReloaded = true
	}
	if musicChanged {
		newMusic = nil
		if cfg.Music.Enabled {
			var sp beeper.Speaker
			if oldMusic != nil && oldMusic.spec == cfg.Speaker {
				sp, keepSpeaker = oldMusic.speaker, true
			}
			m, err := d.newMusicPart(cfg, sp)
			if err != nil {
				return fail("cannot set up the new music settings", err)
			}
			newMusic = m
		}
		if oldMusic != nil {
			if q := oldMusic.m.Stats().Queued; q > 0 {
				d.log.Warn("daemon: reload: the speaker, state directory or pool mode changed; songs still queued stay archived, unplayed", "songs", q)
			}
			oldMusic.halt()
		}
		if newMusic != nil {
			newMusic.start()
		}
	}
	if cfg.RateLimit != d.cfg.RateLimit || cfg.RateBurst != d.cfg.RateBurst {
		d.limiter = newLimiter(cfg)
	}
	d.cfg = cfg
	d.runner.SetCommandTimeouts(cfg.CommandTimeouts)
	d.doors = doors
	if cache != d.replayCache {
		if d.replayCache != nil {
			d.replayCache.Close()
		}
		d.replayCache = cache
	}
	d.matcher.Reload(d.doors.doors)
	d.music = newMusic
	if newCapt == nil {
		d.setFilterLocked()
	}
	kept := d.matcher.Stats().Tracked
	d.mu.Unlock()

	if newCapt != nil {
		oldCapt := d.capt.Swap(newCapt)
		oldCapt.Close() // ends its Run; captureLoop goes on with the new one
	}
	if musicChanged && oldMusic != nil {
		oldMusic.closePools(d.log)
		if !keepSpeaker {
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
	if len(restart) > 0 {
		d.log.Warn("daemon: reload: these settings take effect at the next restart", "settings", restart)
	}
	d.logDisabled(cfg)
	d.mu.Lock()
	d.warnIfIdle()
	d.mu.Unlock()
	d.log.Info("daemon: config reloaded", "doors", len(cfg.Doors), "music", cfg.Music.Enabled,
		"music_rebuilt", musicChanged, "music_reloaded", musicReloaded, "interfaces", interfaces(cfg), "attempts_kept", kept)
	return nil
}
