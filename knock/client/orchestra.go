package client

import (
	"context"
	"fmt"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
)

// runOrchestra is knock --song SONG --orchestra HOST1 HOST2 ...: voice i
// of the song is composed as --song composes a song, without its play
// knock, and knocked into HOSTi; then one ensemble knock ([music]
// ensemble_port) goes to HOST1, which cues the fleet to play the voices
// together. Every voice is composed before the first knock, so that a
// voice that cannot be sent stops knock before any host has a pool.
func runOrchestra(ctx context.Context, c config, env environment, song sequence.Song) int {
	voices := max(len(song.Voices), 1)
	if len(c.hosts) != voices {
		return fail(ctx, env, ExitUsage, fmt.Errorf("--orchestra: %q has %d voice(s) (MML voices are separated by commas): give %d hosts, not %d",
			song.Name, voices, voices, len(c.hosts)))
	}
	plans := make([]sequence.Plan, voices)
	var length time.Duration // the longest voice's
	for i := range voices {
		tones, err := song.Voice(i)
		if err != nil {
			return fail(ctx, env, ExitSong, err)
		}
		length = max(length, sequence.Song{Tones: tones}.Duration())
		plan, err := sequence.Compose(tones, c.protocol, sequence.ComposeOptions{NoPitch: c.noPitch, Notes: c.notes})
		if err != nil {
			return fail(ctx, env, ExitSong, fmt.Errorf("%s: voice %d: %w", c.song, i+1, err))
		}
		if n := len(plan.Knocks); n > 0 && plan.Knocks[n-1].Kind == sequence.KnockPlay {
			plan.Knocks = plan.Knocks[:n-1] // the ensemble knock plays it
		}
		plans[i] = plan
	}
	delay := DefaultSongDelay
	if c.delaySet {
		delay = c.delay
	}
	proto := knock.TCP
	if c.udp {
		proto = knock.UDP
	}
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
		fmt.Fprintf(env.stdout, "knocked voice %d of %q into %s: %d knocks\n", i+1, song.Name, resolved[i], len(plan.Knocks))
	}
	if c.verbose {
		fmt.Fprintf(env.stdout, "hitting %v %s:%d\n", proto, resolved[0], c.ensemblePort)
	}
	if err := senders[0].Knock(ctx, send.Target{Port: c.ensemblePort, Proto: proto}); err != nil {
		return knockFailed(ctx, env, fmt.Errorf("the ensemble knock into %s: %w", c.hosts[0], err), 0, 1)
	}
	fmt.Fprintf(env.stdout, "ensemble knock sent to %s:%d after %v: the %d daemons play %q together; written %v\n",
		resolved[0], c.ensemblePort, env.clock.Now().Sub(start).Round(time.Millisecond), voices, song.Name, length.Round(time.Millisecond))
	return ExitOK
}
