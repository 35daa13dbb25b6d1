package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/knockbeep/knockbeep/knock"
)

// parseSequence reads knockd's sequence syntax, "7000,8000:udp,9000": ports
// 1–65535, each optionally followed by :tcp or :udp (tcp when absent).
// Spaces around the parts are allowed.
func parseSequence(s string) ([]knock.Step, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty sequence: give 1 to %d ports, e.g. \"7000,8000:udp,9000\"", MaxSequenceLength)
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxSequenceLength {
		return nil, fmt.Errorf("sequence has %d ports, at most %d are allowed", len(parts), MaxSequenceLength)
	}
	steps := make([]knock.Step, 0, len(parts))
	for _, p := range parts {
		st, err := parseStep(p)
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// parseStep reads one "port[:tcp|udp]".
func parseStep(s string) (knock.Step, error) {
	portText, protoText, hasProto := strings.Cut(s, ":")
	portText = strings.TrimSpace(portText)
	port, err := parsePort(portText)
	if err != nil {
		return knock.Step{}, err
	}
	st := knock.Step{Proto: knock.TCP, Port: port}
	if hasProto {
		switch strings.ToLower(strings.TrimSpace(protoText)) {
		case "tcp":
		case "udp":
			st.Proto = knock.UDP
		default:
			return knock.Step{}, fmt.Errorf("unknown protocol %q in %q: use tcp or udp", strings.TrimSpace(protoText), strings.TrimSpace(s))
		}
	}
	return st, nil
}

// parsePort reads a decimal port number 1–65535.
func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("port %q is not a number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s is out of range 1-65535", s)
	}
	return uint16(n), nil
}

// formatStep writes a step the way parseStep reads it, tcp implied.
func formatStep(st knock.Step) string {
	s := strconv.Itoa(int(st.Port))
	if st.Proto == knock.UDP {
		s += ":udp"
	}
	return s
}

// tcpFlagNames are knockd's flag names, in the order they are written.
var tcpFlagNames = []struct {
	name string
	flag knock.TCPFlags
}{
	{"fin", knock.FIN}, {"syn", knock.SYN}, {"rst", knock.RST},
	{"psh", knock.PSH}, {"ack", knock.ACK}, {"urg", knock.URG},
}

func tcpFlagNameList() []string {
	names := make([]string, 0, 2*len(tcpFlagNames))
	for _, f := range tcpFlagNames {
		names = append(names, f.name, "!"+f.name)
	}
	return names
}

// parseTCPFlags reads knockd's tcpflags, "syn,!ack": names set, "!"-names
// clear, case-insensitive. An empty string matches every TCP packet.
func parseTCPFlags(s string) (knock.FlagMatch, error) {
	var m knock.FlagMatch
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, item := range strings.Split(s, ",") {
		word := strings.ToLower(strings.TrimSpace(item))
		name, clear := strings.CutPrefix(word, "!")
		var flag knock.TCPFlags
		for _, f := range tcpFlagNames {
			if f.name == name {
				flag = f.flag
			}
		}
		if flag == 0 {
			return m, fmt.Errorf("unknown tcp flag %q%s: use fin, syn, rst, psh, ack, urg, each optionally prefixed with ! (must be clear)",
				strings.TrimSpace(item), suggest(word, tcpFlagNameList()))
		}
		if (m.Set|m.Clear)&flag != 0 {
			return m, fmt.Errorf("tcp flag %s is given twice", name)
		}
		if clear {
			m.Clear |= flag
		} else {
			m.Set |= flag
		}
	}
	return m, nil
}

// formatTCPFlags writes m the way parseTCPFlags reads it.
func formatTCPFlags(m knock.FlagMatch) string {
	var parts []string
	for _, f := range tcpFlagNames {
		switch {
		case m.Set&f.flag != 0:
			parts = append(parts, f.name)
		case m.Clear&f.flag != 0:
			parts = append(parts, "!"+f.name)
		}
	}
	return strings.Join(parts, ",")
}
