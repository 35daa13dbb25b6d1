package capture_test

import (
	"context"
	"fmt"
	"os"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
)

// Replay a capture of loopback traffic through the default music doors'
// filter: SYNs (without ACK) to the step ports, and UDP to two of them.
func ExampleReplay() {
	f, err := os.Open("testdata/lo.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	synOnly := knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}
	filter := capture.Filter{Rules: []capture.Rule{
		{Proto: knock.TCP, Port: 1000, Flags: synOnly},
		{Proto: knock.TCP, Port: 2069, Flags: synOnly},
		{Proto: knock.UDP, Port: 1001},
	}}
	n, err := capture.Replay(context.Background(), f, filter, func(ev *knock.Event) {
		fmt.Printf("%v > %v %v/%d\n", ev.Src, ev.Dst, ev.Proto, ev.Port)
	})
	fmt.Printf("%d packets, %d knocks, err %v\n", n.Packets, n.Events, err)
	// Output:
	// 127.0.0.1 > 127.0.0.1 tcp/1000
	// ::1 > ::1 tcp/2069
	// 127.0.0.1 > 127.0.0.1 udp/1001
	// 8 packets, 3 knocks, err <nil>
}
