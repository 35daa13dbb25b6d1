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

// metrics is the Prometheus view of the daemon's counters (counters.go),
// read from Stats when scraped: no source address is ever a label.
type metrics struct{ stats func() Stats }

var (
	// counterDescs describe counters, in order.
	counterDescs = func() []*prometheus.Desc {
		out := make([]*prometheus.Desc, len(counters))
		for i, c := range counters {
			out[i] = prometheus.NewDesc(c.name, c.help, nil, nil)
		}
		return out
	}()
	doorKnocksDesc     = prometheus.NewDesc("knockbeep_door_knocks_total", "Knocks that matched a step of the door.", []string{"door"}, nil)
	commandSecondsDesc = prometheus.NewDesc("knockbeep_command_duration_seconds", "How long door commands ran.", nil, nil)
	buildInfoDesc      = prometheus.NewDesc("knockbeep_build_info", "The running knockbeepd's version.", []string{"version"}, nil)
)

func (m metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range counterDescs {
		ch <- d
	}
	ch <- doorKnocksDesc
	ch <- commandSecondsDesc
	ch <- buildInfoDesc
}

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.stats()
	for i, c := range counters {
		kind := prometheus.CounterValue
		if c.gauge {
			kind = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(counterDescs[i], kind, float64(c.value(&s)))
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
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, buildinfo.Version())
}

// listenStatus binds the status server when the config asks for one.
func (d *Daemon) listenStatus() error {
	if d.cfg.HTTP.Listen == "" {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{d.Stats})
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
