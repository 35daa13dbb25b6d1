package match_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/match"
)

func Example() {
	ssh := knock.Door{
		Name:     "ssh",
		Sequence: []knock.Step{{Proto: knock.TCP, Port: 7000}, {Proto: knock.TCP, Port: 8000}, {Proto: knock.UDP, Port: 9000}},
		Flags:    knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK},
		Timeout:  10 * time.Second,
	}
	host := netip.MustParseAddr("192.0.2.1")
	m := match.New([]knock.Door{ssh}, match.Options{IsLocal: func(a netip.Addr) bool { return a == host }})

	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("203.0.113.5")
	packets := []knock.Event{
		{Time: start, Src: client, Dst: host, Proto: knock.TCP, Port: 7000, Flags: knock.SYN},
		{Time: start.Add(time.Second), Src: client, Dst: host, Proto: knock.TCP, Port: 22, Flags: knock.SYN}, // no door's port: ignored
		{Time: start.Add(2 * time.Second), Src: client, Dst: host, Proto: knock.TCP, Port: 8000, Flags: knock.SYN},
		{Time: start.Add(3 * time.Second), Src: client, Dst: host, Proto: knock.UDP, Port: 9000},
	}
	var opened []match.Match
	for i := range packets {
		opened = m.Handle(&packets[i], opened[:0])
		for _, o := range opened {
			fmt.Printf("%s opened for %s by %s/%d\n", o.Name, o.Src, o.Event.Proto, o.Event.Port)
		}
	}
	// The daemon's timer: nothing is left to expire.
	fmt.Println("expired:", m.Expire(start.Add(time.Minute)), "tracked:", m.Stats().Tracked)
	// Output:
	// ssh opened for 203.0.113.5 by udp/9000
	// expired: 0 tracked: 0
}
