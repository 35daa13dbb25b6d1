package pcspktest

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// PITHz is the clock of the PC's timer chip: channel 2 divides it by a
// 16-bit count to make the speaker's square wave.
const PITHz = 1193182

// The I/O ports the PC speaker is driven through.
const (
	portPIT2    = 0x42 // timer channel 2 count, low byte then high byte
	portPITMode = 0x43 // timer mode/command register
	portSpeaker = 0x61 // bit 0: channel 2 gate, bit 1: speaker data enable
)

// A PortWrite is one guest write to the timer or the speaker port, as qemu
// traced it, stamped with the host's clock (which under instruction
// counting says nothing about the guest's time: only the order counts).
type PortWrite struct {
	At    time.Time
	Port  uint16
	Value uint8
}

// ParseTrace reads the writes to ports 0x40-0x43 (qemu's region "pit") and
// 0x61 ("pcspk") from a qemu log made with -trace memory_region_ops_write
// and -msg timestamp=on. Other lines are skipped; a pit or pcspk line that
// does not parse is an error naming its line.
func ParseTrace(r io.Reader) ([]PortWrite, error) {
	var writes []PortWrite
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if !strings.Contains(text, "memory_region_ops_write") ||
			!(strings.HasSuffix(text, " name 'pit'") || strings.HasSuffix(text, " name 'pcspk'")) {
			continue
		}
		w, err := parseTraceLine(text)
		if err != nil {
			return writes, fmt.Errorf("pcspktest: trace line %d: %w", line, err)
		}
		writes = append(writes, w)
	}
	if err := sc.Err(); err != nil {
		return writes, fmt.Errorf("pcspktest: reading the trace: %w", err)
	}
	return writes, nil
}

// parseTraceLine reads one line such as
//
//	14924@1795243323.183249:memory_region_ops_write cpu 0 mr 0x5644c1817070 addr 0x61 value 0x33 size 1 name 'pcspk'
func parseTraceLine(text string) (PortWrite, error) {
	var w PortWrite
	stamp, event, ok := strings.Cut(text, ":memory_region_ops_write ")
	if !ok {
		return w, fmt.Errorf("no timestamp before the event (run qemu with -msg timestamp=on)")
	}
	_, stamp, ok = strings.Cut(stamp, "@")
	if !ok {
		return w, fmt.Errorf("timestamp %q lacks the thread@ prefix", stamp)
	}
	secText, usecText, ok := strings.Cut(stamp, ".")
	sec, err1 := strconv.ParseInt(secText, 10, 64)
	usec, err2 := strconv.ParseInt(usecText, 10, 64)
	if !ok || err1 != nil || err2 != nil || len(usecText) != 6 || sec < 0 || usec < 0 {
		return w, fmt.Errorf("timestamp %q is not seconds.microseconds", stamp)
	}
	w.At = time.Unix(sec, usec*1000)

	fields := strings.Fields(event)
	var addr, value, size uint64
	var name string
	seen := 0
	for i := 0; i+1 < len(fields); i += 2 {
		var err error
		switch fields[i] {
		case "addr":
			addr, err = strconv.ParseUint(fields[i+1], 0, 64)
			seen |= 1
		case "value":
			value, err = strconv.ParseUint(fields[i+1], 0, 64)
			seen |= 2
		case "size":
			size, err = strconv.ParseUint(fields[i+1], 0, 8)
			seen |= 4
		case "name":
			name = strings.Trim(fields[i+1], "'")
			seen |= 8
		}
		if err != nil {
			return w, fmt.Errorf("%s %q is not a number", fields[i], fields[i+1])
		}
	}
	if seen != 15 {
		return w, fmt.Errorf("want the fields addr, value, size and name in %q", event)
	}
	if size != 1 || value > 0xFF {
		return w, fmt.Errorf("%s: a %d-byte write of %#x, the speaker ports take bytes", name, size, value)
	}
	w.Value = uint8(value)
	switch {
	case name == "pcspk":
		w.Port = portSpeaker
	case name == "pit" && addr <= 3: // an offset into the region
		w.Port = 0x40 + uint16(addr)
	case name == "pit" && addr >= 0x40 && addr <= 0x43:
		w.Port = uint16(addr)
	default:
		return w, fmt.Errorf("%s: address %#x is not a timer port", name, addr)
	}
	return w, nil
}

// A Sound is one stretch of time during which the speaker sounded at one
// timer count.
type Sound struct {
	Start, End time.Time
	Divisor    uint32 // timer channel 2's count, 1..65536
}

// Freq is the frequency the timer chip makes for the sound's count.
func (s Sound) Freq() float64 { return PITHz / float64(s.Divisor) }

// Length is how long the sound lasted.
func (s Sound) Length() time.Duration { return s.End.Sub(s.Start) }

// Sounds replays port writes through a model of timer channel 2 and port
// 0x61: the speaker sounds while both the gate (bit 0) and the data enable
// (bit 1) are set. Loading a new count while it sounds ends one Sound and
// starts the next with no silence between them; loading the same count
// again changes nothing. If the speaker is still on
// after the last write, the last Sound ends at that write's time and
// stillOn is true.
func Sounds(writes []PortWrite) (sounds []Sound, stillOn bool) {
	sounds, _, stillOn = replayPorts(writes)
	return sounds, stillOn
}

// replayPorts is Sounds, and for each sound the indexes in writes of the
// write that began it and of the one that ended it (-1 while still on).
func replayPorts(writes []PortWrite) (sounds []Sound, bounds [][2]int, stillOn bool) {
	var (
		on       bool
		divisor  uint32 = 0x10000 // a count of 0 means 65536, the chip's reset state
		access   uint8  = 3       // 1: low byte only, 2: high byte only, 3: low then high
		lowNext         = true    // the low/high flip-flop of access mode 3
		lowByte  uint8
		current  Sound
		loaded   bool
		lastTime time.Time
	)
	var from int
	begin := func(i int, at time.Time) { current, from = Sound{Start: at, Divisor: divisor}, i }
	end := func(i int, at time.Time) {
		current.End = at
		sounds = append(sounds, current)
		bounds = append(bounds, [2]int{from, i})
	}
	for i, w := range writes {
		lastTime = w.At
		loaded = false
		switch w.Port {
		case portSpeaker:
			nowOn := w.Value&3 == 3
			switch {
			case nowOn && !on:
				begin(i, w.At)
			case !nowOn && on:
				end(i, w.At)
			}
			on = nowOn
		case portPITMode:
			// Bits 7-6 pick the channel; 3 is the read-back command, and
			// an access field of 0 latches the count without changing it.
			if w.Value>>6 != 2 || (w.Value>>4)&3 == 0 {
				continue
			}
			access = (w.Value >> 4) & 3
			lowNext = true
		case portPIT2:
			switch access {
			case 1:
				divisor, loaded = uint32(w.Value), true
			case 2:
				divisor, loaded = uint32(w.Value)<<8, true
			default:
				if lowNext {
					lowByte = w.Value
				} else {
					divisor, loaded = uint32(w.Value)<<8|uint32(lowByte), true
				}
				lowNext = !lowNext
			}
			if loaded && divisor == 0 {
				divisor = 0x10000
			}
			// Reloading the count it already has does not change the
			// sound: the console speaker re-arms its stop timer so
			// every second (KDMKTONE) in the middle of a note.
			if loaded && on && divisor != current.Divisor {
				end(i, w.At)
				begin(i, w.At)
			}
		}
	}
	if on {
		end(-1, lastTime)
	}
	return sounds, bounds, on
}
