package source

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
)

// oneTimeKind is a door with a knockd one_time_sequences file.
var oneTimeKind = kind{
	name:  "one-time",
	takes: func(d *knock.Door) bool { return d.OneTimeFile != "" },
	open: func(d knock.Door, env Env) (Source, error) {
		return &oneTime{name: d.Name, file: config.OneTime{Path: d.OneTimeFile}, env: env,
			seq: slices.Clone(d.Sequence)}, nil
	},
}

// oneTime serves the current line of its file. It starts from the line
// the config was read with, so the door opens as --check showed it; after
// each use it marks the line and reads the next one.
type oneTime struct {
	name string
	file config.OneTime
	env  Env
	seq  []knock.Step // the current sequence; nil when the door is closed (Used said why)
}

func (o *oneTime) Current(time.Time) ([]Sequence, time.Time, error) {
	if o.seq == nil {
		return nil, time.Time{}, nil
	}
	return []Sequence{{Steps: o.seq}}, time.Time{}, nil
}

// Used marks the sequence used in the file and installs the next line. A
// file that is used up, or that cannot be marked, closes the door with a
// log line: a sequence that cannot be marked used must not open the door
// again. The opening itself stands, as in knockd.
func (o *oneTime) Used(seq Sequence, _ netip.Addr, _ time.Time) error {
	next, err := []knock.Step(nil), MarkUsed(o.file, seq.Steps)
	if err == nil {
		var warnings []string
		next, warnings, err = o.file.Current()
		for _, w := range warnings {
			o.env.Log(slog.LevelWarn, w, "door", o.name)
		}
	}
	o.seq = next
	switch {
	case errors.Is(err, config.ErrUsedUp):
		o.env.Log(slog.LevelWarn, "door disabled: its one-time sequences are used up; add lines to the file and reload", "door", o.name, "file", o.file.Path)
	case err != nil:
		o.env.Log(slog.LevelError, "door disabled: cannot advance its one-time sequence; fix the file and reload", "door", o.name, "err", err)
	default:
		o.env.Log(slog.LevelInfo, "one-time sequence used; the next one is set", "door", o.name, "file", o.file.Path)
	}
	return nil
}

// MarkUsed marks the line of file holding used, the sequence just knocked,
// by writing '#' over its first byte, and syncs the file: exactly what
// knockd does, so the file stays knockd's.
func MarkUsed(file config.OneTime, used []knock.Step) error {
	offset, err := file.Locate(used)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file.Path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("config: one_time_sequences: %w", err)
	}
	_, werr := f.WriteAt([]byte{'#'}, int64(offset))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("config: one_time_sequences: marking the used sequence: %w", err)
	}
	return nil
}
