package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/knockbeep/knockbeep/internal/buildinfo"
	"github.com/knockbeep/knockbeep/knock/command"
	"github.com/knockbeep/knockbeep/knock/status"
)

// recentEvents is how many events the status page keeps.
const recentEvents = 50

// record notes an event for the status page; on the owner.
func (d *Daemon) record(kind, door string, src netip.Addr, msg string) {
	ev := status.Event{Time: d.now(), Kind: kind, Door: door, Source: src.WithZone("").String(), Message: msg}
	if len(d.events) == recentEvents {
		copy(d.events, d.events[1:])
		d.events = d.events[:recentEvents-1]
	}
	d.events = append(d.events, ev)
	if kind == "open" {
		d.opened[door] = append(d.opened[door], ev.Time)
	}
}

// snapshot answers the status page: the doors and the recent events.
func (d *Daemon) snapshot(context.Context) (status.Snapshot, error) {
	s := status.Snapshot{Version: buildinfo.Version(), Started: d.started}
	if c := d.capt.Load(); c != nil {
		for _, ifc := range c.Stats().Interfaces {
			if ifc.Up {
				s.Interfaces = append(s.Interfaces, ifc.Name)
			}
		}
	}
	// The doors and the events are the owner's: it answers between two
	// knocks.
	d.do(func() {
		hourAgo := d.now().Add(-time.Hour)
		for _, door := range d.cfg.Doors {
			kind := "sequence"
			switch {
			case door.Rotating != nil:
				kind = "rotating"
			case door.OneTimeFile != "":
				kind = "one-time"
			}
			recent := d.opened[door.Name]
			for len(recent) > 0 && recent[0].Before(hourAgo) {
				recent = recent[1:]
			}
			d.opened[door.Name] = recent
			state := "ready"
			if len(door.Open) > 0 {
				state = fmt.Sprintf("ready; opens %v for %v", door.Open, door.OpenFor)
			}
			s.Doors = append(s.Doors, status.Door{Name: door.Name, Kind: kind, State: state, OpensLastHr: len(recent)})
		}
		for _, dd := range d.cfg.Disabled {
			s.Doors = append(s.Doors, status.Door{Name: dd.Door.Name, Kind: "one-time", State: "disabled: " + dd.Reason})
		}
		if d.cfg.Music.Enabled {
			s.Doors = append(s.Doors, status.Door{Name: "music", Kind: "music", State: "ready"})
		}
		s.Events = append(s.Events, d.events...)
	})
	return s, nil
}

// metrics is the Prometheus view of the daemon's counters, read from
// Stats when scraped: no source address is ever a label.
type metrics struct{ d *Daemon }

type metricDef struct {
	name, help string
	counter    bool
	value      func(Stats) float64
}

// metricDefs is the one list of exported counters: a new counter is one
// line here.
var metricDefs = []metricDef{
	{"knockbeep_packets_total", "Packets the kernel filter passed to the capture.", true, func(s Stats) float64 { return float64(s.Capture.Packets) }},
	{"knockbeep_kernel_drops_total", "Packets the kernel dropped because the capture ring was full.", true, func(s Stats) float64 { return float64(s.Capture.Drops) }},
	{"knockbeep_decode_errors_total", "Captured frames that could not be decoded.", true, func(s Stats) float64 { return float64(s.Capture.DecodeErrors) }},
	{"knockbeep_knocks_total", "Knocks the daemon acted on.", true, func(s Stats) float64 { return float64(s.Knocks) }},
	{"knockbeep_attempts_started_total", "Knock attempts begun by a door's first step.", true, func(s Stats) float64 { return float64(s.Match.Started) }},
	{"knockbeep_attempts_reset_total", "Attempts failed by a wrong knock.", true, func(s Stats) float64 { return float64(s.Match.Reset) }},
	{"knockbeep_attempts_expired_total", "Attempts failed by their timeout.", true, func(s Stats) float64 { return float64(s.Match.Expired) }},
	{"knockbeep_attempts_evicted_total", "Attempts dropped to make room (a flood of sources).", true, func(s Stats) float64 { return float64(s.Match.Evicted) }},
	{"knockbeep_opens_total", "Doors opened.", true, func(s Stats) float64 { return float64(s.Match.Opened) }},
	{"knockbeep_replays_refused_total", "Openings refused by the door's source: replayed or reused sequences.", true, func(s Stats) float64 { return float64(s.Refused) }},
	{"knockbeep_rate_limited_total", "Knocks dropped because their source passed rate_limit.", true, func(s Stats) float64 { return float64(s.RateLimited) }},
	{"knockbeep_firewall_added_total", "Knockers added to firewall sets.", true, func(s Stats) float64 { return float64(s.Firewall.Added) }},
	{"knockbeep_firewall_errors_total", "Firewall sets that refused an address or could not be reached.", true, func(s Stats) float64 { return float64(s.Firewall.Errors) }},
	{"knockbeep_commands_succeeded_total", "Door commands that exited 0.", true, func(s Stats) float64 { return float64(s.Commands.Succeeded) }},
	{"knockbeep_commands_failed_total", "Door commands that failed or were killed.", true, func(s Stats) float64 { return float64(s.Commands.Failed) }},
	{"knockbeep_music_steps_total", "Music steps appended to pools.", true, func(s Stats) float64 { return float64(s.Music.Steps) }},
	{"knockbeep_songs_played_total", "Songs the player finished.", true, func(s Stats) float64 { return float64(s.Music.Played) }},
	{"knockbeep_songs_failed_total", "Songs the player failed or stopped.", true, func(s Stats) float64 { return float64(s.Music.PlayErrors) }},
	{"knockbeep_music_refused_total", "Music knocks refused (not allowed, too many pools, pool full, queue full, empty play).", true, func(s Stats) float64 {
		r := s.Music.Refused
		return float64(r.NotAllowed + r.TooManyPools + r.PoolFull + r.QueueFull + r.EmptyPlay)
	}},
	{"knockbeep_attempts_tracked", "Knock attempts tracked now.", false, func(s Stats) float64 { return float64(s.Match.Tracked) }},
	{"knockbeep_doors_open", "Doors open now (start command run, stop command not yet).", false, func(s Stats) float64 { return float64(s.Commands.Open) }},
}

var (
	metricDescs = func() []*prometheus.Desc {
		out := make([]*prometheus.Desc, len(metricDefs))
		for i, m := range metricDefs {
			out[i] = prometheus.NewDesc(m.name, m.help, nil, nil)
		}
		return out
	}()
	doorKnocksDesc     = prometheus.NewDesc("knockbeep_door_knocks_total", "Knocks that matched a step of the door.", []string{"door"}, nil)
	commandSecondsDesc = prometheus.NewDesc("knockbeep_command_duration_seconds", "How long door commands ran.", nil, nil)
	interfacesUpDesc   = prometheus.NewDesc("knockbeep_capture_interfaces_up", "Capture interfaces up now.", nil, nil)
	buildInfoDesc      = prometheus.NewDesc("knockbeep_build_info", "The running knockbeepd's version.", []string{"version"}, nil)
)

func (m metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metricDescs {
		ch <- d
	}
	ch <- doorKnocksDesc
	ch <- commandSecondsDesc
	ch <- interfacesUpDesc
	ch <- buildInfoDesc
}

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.d.Stats()
	for i, def := range metricDefs {
		kind := prometheus.GaugeValue
		if def.counter {
			kind = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(metricDescs[i], kind, def.value(s))
	}
	for door, n := range s.DoorKnocks {
		ch <- prometheus.MustNewConstMetric(doorKnocksDesc, prometheus.CounterValue, float64(n), door)
	}
	h := s.Commands.Durations
	buckets := make(map[float64]uint64, len(h.Counts))
	for i, n := range h.Counts {
		buckets[command.DurationBuckets[i]] = n
	}
	ch <- prometheus.MustNewConstHistogram(commandSecondsDesc, h.Count, h.Sum, buckets)
	up := 0
	if c := m.d.capt.Load(); c != nil {
		for _, ifc := range c.Stats().Interfaces {
			if ifc.Up {
				up++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(interfacesUpDesc, prometheus.GaugeValue, float64(up))
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, buildinfo.Version())
}

// listenStatus binds the status server when the config asks for one.
func (d *Daemon) listenStatus() error {
	if d.cfg.HTTP.Listen == "" {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{d})
	played := ""
	if d.cfg.Music.Enabled {
		played = filepath.Join(d.cfg.StateDir, "played")
	}
	srv, err := status.Listen(status.Options{Listen: d.cfg.HTTP.Listen, Gatherer: reg, Snapshot: d.snapshot, PlayedDir: played, Logger: d.log})
	if err != nil {
		return fmt.Errorf("daemon: [http] listen: %w", err)
	}
	d.status = srv
	d.log.Info("daemon: serving metrics and the status page", "listen", srv.Addr().String())
	return nil
}
