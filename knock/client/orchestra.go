package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// A part is what one host of an orchestra plays.
type part struct {
	tones []sequence.Tone
	name  string // for messages: `voice 2 of "three-voice-round"`, `voice 2 ("viola")`
	song  string // the --song it comes from, for errors
}

// orchestraParts reads the parts of knock --orchestra, one per host: the
// voices of the one --song (MML voices separated by commas), or the songs
// of repeated --song options (one file per voice), each of one voice. It
// returns them with what the hosts play together, for the closing line,
// or an error and the exit status.
func orchestraParts(c config) ([]part, string, int, error) {
	if len(c.songs) == 1 {
		song, err := songs.Load(c.songs[0])
		if err != nil {
			return nil, "", ExitSong, err
		}
		voices := max(len(song.Voices), 1)
		if len(c.hosts) != voices {
			return nil, "", ExitUsage, fmt.Errorf("--orchestra: %q has %d voice(s) (MML voices are separated by commas): give %d hosts, not %d",
				song.Name, voices, voices, len(c.hosts))
		}
		parts := make([]part, voices)
		for i := range parts {
			tones, err := song.Voice(i)
			if err != nil {
				return nil, "", ExitSong, err
			}
			parts[i] = part{tones: tones, name: fmt.Sprintf("voice %d of %q", i+1, song.Name), song: fmt.Sprintf("%s: voice %d", c.songs[0], i+1)}
		}
		return parts, strconv.Quote(song.Name), ExitOK, nil
	}
	// One --song per host: parseArgs matched their count to the hosts'.
	parts := make([]part, len(c.songs))
	names := make([]string, len(c.songs))
	for i, file := range c.songs {
		song, err := songs.Load(file)
		if err != nil {
			return nil, "", ExitSong, err
		}
		if n := len(song.Voices); n > 1 {
			return nil, "", ExitUsage, fmt.Errorf("--song %s: %q has %d voices (MML voices are separated by commas), but one --song per host takes songs of one voice: "+
				"split it into one file per voice, or give it as the only --song with %d hosts", file, song.Name, n, n)
		}
		parts[i] = part{tones: song.Tones, name: fmt.Sprintf("voice %d (%q)", i+1, song.Name), song: file}
		names[i] = strconv.Quote(song.Name)
	}
	return parts, strings.Join(names, ", "), ExitOK, nil
}

// runOrchestra is knock --song SONG --orchestra HOST1 HOST2 ... (or
// --song VOICE1 --song VOICE2 ... --orchestra HOST1 HOST2 ...): part i,
// as orchestraParts reads it, is composed as --song composes a song,
// without its play knock, and knocked into HOSTi; then one ensemble knock
// ([music] ensemble_port) goes to HOST1, which cues the fleet to play the
// voices together. Every part is composed before the first knock, so that
// a voice that cannot be sent stops knock before any host has a pool.
func runOrchestra(ctx context.Context, c config, env environment) int {
	parts, title, status, err := orchestraParts(c)
	if err != nil {
		return fail(ctx, env, status, err)
	}
	voices := len(parts)
	plans := make([]sequence.Plan, voices)
	var length time.Duration // the longest voice's
	for i, p := range parts {
		length = max(length, sequence.Song{Tones: p.tones}.Duration())
		plan, err := composeSong(c, env, p.song, p.name, p.tones)
		if err != nil {
			return fail(ctx, env, ExitSong, err)
		}
		if n := len(plan.Knocks); n > 0 && plan.Knocks[n-1].Kind == sequence.KnockPlay {
			plan.Knocks = plan.Knocks[:n-1] // the ensemble knock plays it
		}
		plans[i] = plan
	}
	delay, proto := c.songDelay(), c.proto()
	if c.dryRun {
		for i, plan := range plans {
			fmt.Fprintf(env.stdout, "voice %d into %s: %s\n", i+1, c.hosts[i], plan.Summary())
		}
		fmt.Fprintf(env.stdout, "then the ensemble knock: %v %s:%d\n", proto, c.hosts[0], c.ensemblePort)
		return ExitOK
	}
	// Resolve every host first: a name that does not resolve stops knock
	// before any voice is knocked in.
	resolved := make([]string, voices)
	senders := make([]*send.Sender, voices)
	for i, host := range c.hosts {
		addr, err := send.Resolve(ctx, host, c.network)
		if err != nil {
			return fail(ctx, env, ExitHost, err)
		}
		resolved[i] = addr.String()
		senders[i] = send.NewSender(addr, send.Options{Delay: delay, Clock: env.clock})
	}
	start := env.clock.Now()
	for i, plan := range plans {
		for j, k := range plan.Knocks {
			port := k.Port(plan.Protocol)
			if c.verbose {
				fmt.Fprintf(env.stdout, "hitting %v %s:%d\n", proto, resolved[i], port)
			}
			if err := senders[i].Knock(ctx, send.Target{Port: port, Proto: proto}); err != nil {
				return knockFailed(ctx, env, fmt.Errorf("voice %d into %s: %w", i+1, c.hosts[i], err), j, len(plan.Knocks))
			}
		}
		fmt.Fprintf(env.stdout, "knocked %s into %s: %d knocks\n", parts[i].name, resolved[i], len(plan.Knocks))
	}
	if c.verbose {
		fmt.Fprintf(env.stdout, "hitting %v %s:%d\n", proto, resolved[0], c.ensemblePort)
	}
	if err := senders[0].Knock(ctx, send.Target{Port: c.ensemblePort, Proto: proto}); err != nil {
		return knockFailed(ctx, env, fmt.Errorf("the ensemble knock into %s: %w", c.hosts[0], err), 0, 1)
	}
	fmt.Fprintf(env.stdout, "ensemble knock sent to %s:%d after %v: the %d daemons play %s together; written %v\n",
		resolved[0], c.ensemblePort, env.clock.Now().Sub(start).Round(time.Millisecond), voices, title, length.Round(time.Millisecond))
	return ExitOK
}
