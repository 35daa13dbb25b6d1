package daemon

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/source"
	"github.com/knockbeep/knockbeep/sequence"
)

// messageDoors are the config's message doors: one assembler each, fed by
// the owner with the knocks that fall in their ranges (which no other
// door's ports share: the config refuses overlaps).
type messageDoors struct {
	doors []messageDoor
}

type messageDoor struct {
	door  knock.Door
	name  string // the name its frames are derived under: the door's, or message.SongDoor
	asm   *message.Assembler
	noise uint64 // the assembler's noise count at the last tick
}

// newMessageDoors reads the keys of doors' message doors and makes their
// assemblers; nil when there are none.
func newMessageDoors(doors []knock.Door) (*messageDoors, error) {
	var m messageDoors
	for _, d := range doors {
		if d.Message == nil || d.Rotating == nil {
			continue
		}
		r := d.Rotating
		cfg := message.Config{Door: d.Name, Period: r.Period, Skew: r.Skew, MaxBytes: d.Message.MaxBytes, Timeout: d.Timeout,
			Shape: portlang.Shape{Length: 1, Lo: r.PortLo, Hi: r.PortHi, Protos: r.Protos}}
		if cfg.Timeout <= 0 {
			cfg.Timeout = r.Period // a door without a timeout: a message may take one period
		}
		if d.Message.Song {
			cfg.Payload, cfg.Door = message.Song, message.SongDoor
		}
		for _, path := range r.SecretFiles {
			key, err := portlang.ReadKeyFile(path)
			if err != nil {
				return nil, fmt.Errorf("daemon: door %q: %w", d.Name, err)
			}
			cfg.Keys = append(cfg.Keys, key)
		}
		asm, err := message.NewAssembler(cfg)
		if err != nil {
			return nil, fmt.Errorf("daemon: door %q: %w", d.Name, err)
		}
		m.doors = append(m.doors, messageDoor{door: d, name: cfg.Door, asm: asm})
	}
	if len(m.doors) == 0 {
		return nil, nil
	}
	return &m, nil
}

// handle gives ev to the message door whose range holds it. taken says
// whether one did (the knock is then no other door's); ok whether it
// completed a message, of door.
func (m *messageDoors) handle(ev *knock.Event) (door *messageDoor, msg message.Message, taken, ok bool) {
	for i := range m.doors {
		md := &m.doors[i]
		r := md.door.Rotating
		if ev.Port < r.PortLo || ev.Port > r.PortHi || len(md.door.Targets) > 0 && !slices.Contains(md.door.Targets, ev.Dst) {
			continue
		}
		msg, ok = md.asm.Handle(ev)
		return md, msg, true, ok
	}
	return nil, message.Message{}, false, false
}

// A messageDrop is a message that did not arrive, for the log; or, when
// strays is not zero, the number of stray attempts (noise) since the last
// tick.
type messageDrop struct {
	door   string
	strays uint64
	message.Drop
}

// tick ends the attempts whose time is up at now, returning those that
// were messages and one summary per door of the stray ones, and draws the
// codes the next period needs.
func (m *messageDoors) tick(now time.Time) []messageDrop {
	var drops []messageDrop
	for i := range m.doors {
		md := &m.doors[i]
		for _, d := range md.asm.Expire(now) {
			drops = append(drops, messageDrop{door: md.door.Name, Drop: d})
		}
		if n := md.asm.Stats().Noise; n > md.noise {
			drops = append(drops, messageDrop{door: md.door.Name, strays: n - md.noise})
			md.noise = n
		}
		md.asm.Prepare(now, source.Lead) // the config was checked: it cannot fail
	}
	return drops
}

// record puts a delivered message in the replay cache, on disk, before
// its command runs: source.ErrReplayed when it was there already.
func (md *messageDoor) record(cache source.ReplayCache, msg message.Message) error {
	id, err := msg.ReplayID(md.name)
	if err != nil {
		return err
	}
	added, err := cache.Add(id, md.asm.Expires(msg))
	if err != nil {
		return err
	}
	if !added {
		return fmt.Errorf("message of period %d: %w", msg.Period, source.ErrReplayed)
	}
	return nil
}

// deliver acts on a message a door's knocks completed, on the owner: the
// replay cache first (on disk before anything runs; a message seen
// before is refused and logged), then the door's command with the text
// (command.Runner.OpenMessage). A message door opens no firewall set (the
// config refuses one): the tag authenticates the text, not its source. The log gives the
// text's length, not the text: it may be private, and the commands have
// it.
func (d *Daemon) deliver(md *messageDoor, msg message.Message, ev *knock.Event) {
	src := msg.Src.WithZone("")
	if d.replayCache == nil {
		d.log.Error("daemon: message not delivered: no replay cache", "door", md.door.Name, "src", src)
		return
	}
	err := md.record(d.replayFor(d.replayCache), msg)
	if err != nil {
		d.takeClaim()
	} else {
		// In a fleet, the message is claimed fleet-wide too, and
		// delivered when the fleet has answered.
		door, at := md.door, *ev
		if d.fleetClaim(door.Name, msg.Src, func(err error) { d.messageDecided(door, msg, at, err) }) {
			return
		}
	}
	d.messageDecided(md.door, msg, *ev, err)
}

// messageDecided acts on a message once its use is decided: refused
// (err, a replay) or delivered (a song: played).
func (d *Daemon) messageDecided(door knock.Door, msg message.Message, ev knock.Event, err error) {
	src := msg.Src.WithZone("")
	if err != nil {
		what := "daemon: message not delivered"
		if door.Message.Song {
			what = "daemon: song not played"
		}
		d.refuse(what, door.Name, src, "", err, true)
		return
	}
	if door.Message.Song {
		d.playSong(door, msg)
		return
	}
	d.log.Info("daemon: message delivered", "door", door.Name, "src", src, "bytes", len(msg.Text), "knocks", msg.Knocks, "period", msg.Period)
	d.record("message", door.Name, msg.Src, fmt.Sprintf("%d bytes", len(msg.Text)))
	if d.fleet != nil {
		// The audit names the message's length, never its text.
		d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditOpening, Door: door.Name, Addr: src.String(), Detail: fmt.Sprintf("message of %d bytes", len(msg.Text))})
	}
	d.runner.OpenMessage(door, ev, msg.Text)
	if door.Message.Morse && d.music != nil {
		tones, err := sequence.Morse(msg.Text, d.cfg.Music.MorseWPM)
		if err != nil {
			d.log.Info("daemon: message not played as Morse code", "door", door.Name, "src", src, "reason", err)
			return
		}
		d.music.m.PlayTones(d.opts.Clock.Now(), msg.Src, tones)
	}
}

// playSong plays a song that arrived whole under the music doors'
// secret, already recorded in the replay cache: a frame the key
// authenticated but that is no song (a client of another version) is
// logged and counted, never played in part.
func (d *Daemon) playSong(door knock.Door, msg message.Message) {
	src := msg.Src.WithZone("")
	knocks, err := sequence.UnpackKnocks([]byte(msg.Text))
	if err != nil || d.music == nil {
		if err == nil {
			err = errors.New("the music doors are off")
		}
		d.refuse("daemon: song not played", door.Name, src, "", err, false)
		return
	}
	d.log.Info("daemon: song arrived", "door", door.Name, "src", src, "bytes", len(msg.Text), "knocks", msg.Knocks, "song_knocks", len(knocks), "period", msg.Period)
	d.record("song", door.Name, msg.Src, fmt.Sprintf("%d knocks in %d", len(knocks), msg.Knocks))
	d.music.m.HandleSong(msg.Src, knocks)
	if d.fleet != nil {
		d.fleet.audit(fleet.AuditRecord{Kind: fleet.AuditSong, Door: door.Name, Addr: src.String(), Detail: fmt.Sprintf("%d knocks", len(knocks))})
	}
}

// stats sums the counters of every message door.
func (m *messageDoors) stats() message.Stats {
	var s message.Stats
	if m == nil {
		return s
	}
	for _, md := range m.doors {
		a := md.asm.Stats()
		s.Knocks += a.Knocks
		s.Messages += a.Messages
		s.Dropped += a.Dropped
		s.Noise += a.Noise
		s.Evicted += a.Evicted
	}
	return s
}
