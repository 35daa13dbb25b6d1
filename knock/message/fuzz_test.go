package message

import (
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// FuzzAssemble sends a text as knocks that the fuzzer drops, repeats,
// reorders and mixes with stray knocks: whatever arrives is the text
// exactly (never another), and when no knock was lost it arrives.
func FuzzAssemble(f *testing.F) {
	f.Add("deploy v1.2 ✓", uint8(0), []byte{})
	f.Add("hello", uint8(4), []byte{1, 0, 0, 2, 3, 0, 5, 0xff, 7})
	f.Add(mixed, uint8(8), []byte{0, 0, 0, 0, 9, 9, 9})
	f.Add("x", uint8(64), []byte{0xfe, 0xfd, 0xfc})
	at := periodStart.Add(time.Second)
	codes := map[uint8]*Code{}
	f.Fuzz(func(t *testing.T, text string, parity uint8, ops []byte) {
		par := int(parity % (MaxParity + 1))
		c := codes[0]
		if c == nil {
			var err error
			if c, err = NewCode(testKey, "notify", periodStart.Unix()/int64(testPeriod/time.Second), testShape); err != nil {
				t.Fatal(err)
			}
			codes[0] = c
		}
		steps, err := c.Encode([]byte(text), par)
		if err != nil {
			if CheckText([]byte(text)) == nil && len(text) <= c.MaxText(par) {
				t.Fatalf("Encode refused a text it can carry: %v", err)
			}
			return
		}
		evs := events(alice, steps, at, time.Millisecond)
		lost := false
		// Each op byte: 0-63 drops a knock, 64-127 repeats one at the end,
		// 128-191 swaps two, 192-255 adds a stray knock in the range.
		for i, op := range ops {
			if len(evs) == 0 {
				break
			}
			k := (int(op)*131 + i*17) % len(evs)
			switch {
			case op < 64:
				evs = append(evs[:k], evs[k+1:]...)
				lost = true
			case op < 128:
				evs = append(evs, evs[k])
			case op < 192:
				j := (k + int(op)) % len(evs)
				evs[k], evs[j] = evs[j], evs[k]
			default:
				ev := evs[k]
				ev.Port = testShape.Lo + uint16((int(op)*7919+i*104729)%int(testShape.Hi-testShape.Lo+1))
				evs = append(evs, ev)
				lost = true // a stray knock may take a position first: the tag then refuses the message
			}
		}
		cfg := testConfig()
		cfg.MaxBytes = MaxBytes
		cfg.MaxBytes = min(cfg.MaxBytes, c.MaxText(0))
		a := newAssembler(t, cfg)
		got := feed(a, evs)
		for _, m := range got {
			if m.Text != text {
				t.Fatalf("a message arrived that was not sent: %q, sent %q", m.Text, text)
			}
		}
		if !lost && len(got) != 1 {
			t.Fatalf("nothing lost, %d messages arrived; drops %+v", len(got), a.Expire(at.Add(time.Hour)))
		}
		a.Expire(at.Add(time.Hour))
	})
}

// FuzzHandle feeds arbitrary knocks: the assembler never panics, never
// holds more than its cap, and returns no message from knocks it was not
// sent (a forger without the key).
func FuzzHandle(f *testing.F) {
	f.Add([]byte{0x4e, 0x20, 0x4e, 0x21, 0x7f, 0xff})
	f.Add([]byte{0, 0, 0xff, 0xff, 0x50, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		cfg.MaxAttempts = 4
		a := newAssembler(t, cfg)
		at := periodStart.Add(time.Second)
		for i := 0; i+2 < len(data); i += 3 {
			ev := knock.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Src: alice, Proto: knock.TCP,
				Port: uint16(data[i])<<8 | uint16(data[i+1]), Flags: knock.SYN}
			if data[i+2]&1 == 1 {
				ev.Proto = knock.UDP
			}
			if data[i+2]&2 == 2 {
				ev.Src = bob
			}
			if m, ok := a.Handle(&ev); ok {
				t.Fatalf("a forged message arrived: %q", m.Text)
			}
			if len(a.attempts) > cfg.MaxAttempts {
				t.Fatalf("%d attempts, cap %d", len(a.attempts), cfg.MaxAttempts)
			}
		}
		a.Expire(at.Add(time.Hour))
	})
}
