package daemon

// A counter is one of the daemon's numbers, defined once: /metrics
// exports every counter as its name (counters end in _total), and the
// shutdown line logs those with a log key under that key. Its value is
// read from a Stats snapshot, so it lives with its owner (capture, match,
// music, command, the firewall opener, the daemon) and is counted there.
// Adding a counter is one line here, plus its field in its owner's Stats
// if the number is new.
type counter struct {
	name  string // the metric's name
	log   string // its key in the shutdown line; "" leaves it out
	help  string // the metric's help text
	gauge bool   // a level now, not a count since the start
	value func(*Stats) uint64
}

// counters are the daemon's counters and gauges, in the shutdown line's
// order. Per-door knocks (a label) and the command duration histogram are
// exported beside them, in status.go.
var counters = []counter{
	{"knockbeep_knocks_total", "knocks", "Knocks the daemon acted on.", false, func(s *Stats) uint64 { return s.Knocks }},
	{"knockbeep_packets_total", "packets", "Packets the kernel filter passed to the capture.", false, func(s *Stats) uint64 { return s.Capture.Packets }},
	{"knockbeep_kernel_drops_total", "kernel_drops", "Packets the kernel dropped because the capture ring was full.", false, func(s *Stats) uint64 { return s.Capture.Drops }},
	{"knockbeep_decode_errors_total", "decode_errors", "Captured frames that could not be decoded.", false, func(s *Stats) uint64 { return s.Capture.DecodeErrors }},
	{"knockbeep_attempts_started_total", "attempts_started", "Knock attempts begun by a door's first step.", false, func(s *Stats) uint64 { return s.Match.Started }},
	{"knockbeep_opens_total", "doors_opened", "Doors opened.", false, func(s *Stats) uint64 { return s.Match.Opened }},
	{"knockbeep_replays_refused_total", "refused", "Openings refused by the door's source: replayed or reused sequences.", false, func(s *Stats) uint64 { return s.Refused }},
	{"knockbeep_attempts_evicted_total", "evicted", "Attempts dropped to make room (a flood of sources).", false, func(s *Stats) uint64 { return s.Match.Evicted }},
	{"knockbeep_music_steps_total", "music_steps", "Music steps appended to pools.", false, func(s *Stats) uint64 { return s.Music.Steps }},
	{"knockbeep_songs_played_total", "songs_played", "Songs the player finished.", false, func(s *Stats) uint64 { return s.Music.Played }},
	{"knockbeep_commands_succeeded_total", "commands_ok", "Door commands that exited 0.", false, func(s *Stats) uint64 { return s.Commands.Succeeded }},
	{"knockbeep_commands_failed_total", "commands_failed", "Door commands that failed or were killed.", false, func(s *Stats) uint64 { return s.Commands.Failed }},
	{"knockbeep_firewall_added_total", "firewall_opened", "Knockers added to firewall sets.", false, func(s *Stats) uint64 { return s.Firewall.Added }},
	{"knockbeep_firewall_errors_total", "firewall_errors", "Firewall sets that refused an address or could not be reached.", false, func(s *Stats) uint64 { return s.Firewall.Errors }},
	{"knockbeep_attempts_reset_total", "", "Attempts failed by a wrong knock.", false, func(s *Stats) uint64 { return s.Match.Reset }},
	{"knockbeep_attempts_expired_total", "", "Attempts failed by their timeout.", false, func(s *Stats) uint64 { return s.Match.Expired }},
	{"knockbeep_rate_limited_total", "", "Knocks dropped because their source passed rate_limit.", false, func(s *Stats) uint64 { return s.RateLimited }},
	{"knockbeep_songs_failed_total", "", "Songs the player failed or stopped.", false, func(s *Stats) uint64 { return s.Music.PlayErrors }},
	{"knockbeep_music_refused_total", "", "Music knocks refused (not allowed, too many pools, pool full, queue full, empty play).", false, func(s *Stats) uint64 {
		r := s.Music.Refused
		return r.NotAllowed + r.TooManyPools + r.PoolFull + r.QueueFull + r.EmptyPlay
	}},
	{"knockbeep_messages_delivered_total", "messages", "Messages that message doors delivered.", false, func(s *Stats) uint64 { return s.Messages.Messages }},
	{"knockbeep_messages_dropped_total", "", "Messages that did not arrive whole and verified (knocks lost beyond the parity, a tag that does not match, too long).", false, func(s *Stats) uint64 { return s.Messages.Dropped }},
	{"knockbeep_message_noise_total", "", "Knocks into message doors' ranges that read as no message (scans, floods).", false, func(s *Stats) uint64 { return s.Messages.Noise }},
	{"knockbeep_fleet_claims_total", "", "Uses of rotating doors and messages claimed in the fleet's replay cache.", false, func(s *Stats) uint64 { return s.Fleet.Claims }},
	{"knockbeep_fleet_replays_refused_total", "fleet_refused", "Uses refused because another node of the fleet had used the sequence first.", false, func(s *Stats) uint64 { return s.Fleet.Refused }},
	{"knockbeep_fleet_degraded_total", "fleet_degraded", "Uses decided alone: the fleet's cluster unreachable, or too many claims in flight.", false, func(s *Stats) uint64 { return s.Fleet.Degraded }},
	{"knockbeep_fleet_openings_published_total", "", "Openings of fleet doors published to the fleet.", false, func(s *Stats) uint64 { return s.Fleet.Published }},
	{"knockbeep_fleet_openings_unpublished_total", "", "Openings of fleet doors the fleet's cluster did not confirm: possibly open here only.", false, func(s *Stats) uint64 { return s.Fleet.Unpublished }},
	{"knockbeep_fleet_openings_applied_total", "fleet_applied", "Openings of other nodes' fleet doors applied here.", false, func(s *Stats) uint64 { return s.Fleet.Applied }},
	{"knockbeep_fleet_audit_dropped_total", "", "Audit records not kept: the queue or the spool on disk full.", false, func(s *Stats) uint64 { return s.Fleet.AuditDropped }},
	{"knockbeep_fleet_server_restarts_total", "", "Restarts of the fleet's embedded NATS server (knockbeep-nats) after it died.", false, func(s *Stats) uint64 { return s.Fleet.ServerRestarts }},
	{"knockbeep_attempts_tracked", "", "Knock attempts tracked now.", true, func(s *Stats) uint64 { return uint64(s.Match.Tracked) }},
	{"knockbeep_doors_open", "", "Doors open now (start command run, stop command not yet).", true, func(s *Stats) uint64 { return uint64(s.Commands.Open) }},
	{"knockbeep_capture_interfaces_up", "", "Capture interfaces up now.", true, func(s *Stats) uint64 { return uint64(s.InterfacesUp) }},
}

// logAttrs are the shutdown line's attributes: the counters with a log
// key.
func (s Stats) logAttrs() []any {
	var attrs []any
	for _, c := range counters {
		if c.log != "" {
			attrs = append(attrs, c.log, c.value(&s))
		}
	}
	return attrs
}
