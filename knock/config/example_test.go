package config_test

import (
	"fmt"
	"os"

	"github.com/knockbeep/knockbeep/knock/config"
)

func ExampleParse() {
	c, err := config.Parse("knockbeepd.toml", []byte(`
[[door]]
name = "ssh"
sequence = ["7000", "8000:udp", "9000"]
tcpflags = "syn"
start_command = ["/usr/sbin/nft", "add", "element", "inet", "filter", "knocked4", "{ %IP% }"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	d := c.Doors[0]
	fmt.Println(d.Name, d.Sequence, d.Timeout, d.Start.Argv[0])

	_, err = config.Parse("knockbeepd.toml", []byte("[[door]]\nname = \"ssh\"\nsequense = [\"7000\"]\n"))
	fmt.Println(err)
	// Output:
	// ssh [{tcp 7000} {udp 8000} {tcp 9000}] 25s /usr/sbin/nft
	// config: knockbeepd.toml: line 3: door "ssh": unknown key "sequense" (did you mean "sequence"?)
}

func ExampleConvertKnockd() {
	knockdConf := []byte(`[options]
	UseSyslog
# Open SSH for the knocker.
[openSSH]
	sequence = 7000,8000,9000
	command  = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
`)
	if err := config.ConvertKnockd("knockd.conf", knockdConf, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # knockbeepd configuration converted from knockd.conf.
	// # Every setting is written out; configs/knockbeepd.toml documents each.
	//
	// interfaces = ["any"]
	// speaker = "auto"
	// state_dir = "/var/lib/knockbeep"
	// pid_file = ""
	// max_attempts = 65536
	// rate_limit = 0
	// rate_burst = 0
	//
	// [http]
	// listen = ""
	//
	// [log]
	// level = "info"
	// format = "text"
	// stderr = false
	// syslog = true
	// file = ""
	//
	// [music]
	// enabled = false
	// tone_port = 1000
	// silence_port = 1001
	// play_port = 1002
	// pitch_base = 2000
	// note_base = 32768
	// note_unit = "25ms"
	// step = "100ms"
	// default_freq = 440.0
	// pools = "per-source"
	// max_steps = 10000
	// max_pools = 1024
	// allow = []
	// queue = 8
	// refusal_log_interval = "10s"
	// keep_played = 100
	// keep_played_mib = 256
	// pool_idle_timeout = "10m0s"
	// morse_wpm = 20
	// ensemble_port = 1003
	//
	// # Open SSH for the knocker.
	// [[door]]
	// name = "openSSH"
	// sequence = ["7000", "8000", "9000"]
	// timeout = "25s"
	// shell = true
	// start_command = "/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT"
}
