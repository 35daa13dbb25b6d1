package config

import (
	"fmt"
	"strings"
	"testing"
)

// A config of many doors parses in time linear in its size: the figure
// reported per door stays flat as the door count grows.
func BenchmarkParseTOML(b *testing.B) {
	for _, doors := range []int{10, 1000} {
		var text strings.Builder
		for i := range doors {
			fmt.Fprintf(&text, "[[door]]\nname = \"door%d\"\nsequence = [\"%d\", \"%d:udp\", \"%d\"]\ntcpflags = \"syn\"\ntimeout = \"10s\"\nstart_command = [\"/bin/true\", \"%%IP%%\"]\n\n",
				i, 10000+i, 20000+i, 30000+i)
		}
		data := []byte(text.String())
		b.Run(fmt.Sprintf("doors=%d", doors), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse("bench.toml", data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(doors), "ns/door")
		})
	}
}

func BenchmarkParseKnockd(b *testing.B) {
	var text strings.Builder
	text.WriteString("[options]\n\tUseSyslog\n")
	const doors = 1000
	for i := range doors {
		fmt.Fprintf(&text, "[door%d]\n\tsequence = %d,%d:udp,%d\n\tseq_timeout = 5\n\ttcpflags = syn\n\tcommand = /sbin/iptables -A INPUT -s %%IP%% -j ACCEPT\n",
			i, 10000+i, 20000+i, 30000+i)
	}
	data := []byte(text.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.conf", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/doors, "ns/door")
}
