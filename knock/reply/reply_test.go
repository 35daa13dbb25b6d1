package reply

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var key = bytes.Repeat([]byte{9}, 32)

func TestRoundTrip(t *testing.T) {
	for _, r := range []Reply{
		{Status: Opened, Until: time.Unix(1780000000, 0), Period: 59333333},
		{Status: Refused, Period: -1},
	} {
		b, err := Encode(key, "ssh", r)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != Size {
			t.Fatalf("%d bytes, want %d", len(b), Size)
		}
		got, err := Parse(key, "ssh", r.Period, b)
		if err != nil || got.Status != r.Status || !got.Until.Equal(r.Until) || got.Period != r.Period {
			t.Errorf("Parse(Encode(%+v)) = %+v, %v", r, got, err)
		}
	}
}

// What an attacker can send is refused: a forged tag, a reply under
// another key or for another door, one bit flipped (an "opened" made of a
// "refused"), an old reply for another period, a short datagram.
func TestForgeries(t *testing.T) {
	good, _ := Encode(key, "ssh", Reply{Status: Refused, Period: 100})
	flipped := bytes.Clone(good)
	flipped[4] = byte(Opened)
	otherKey, _ := Encode(bytes.Repeat([]byte{8}, 32), "ssh", Reply{Status: Opened, Period: 100})
	otherDoor, _ := Encode(key, "web", Reply{Status: Opened, Period: 100})
	old, _ := Encode(key, "ssh", Reply{Status: Opened, Period: 99})
	for name, data := range map[string][]byte{
		"status flipped": flipped, "another key": otherKey, "another door": otherDoor,
		"another period": old, "short": good[:Size-1], "empty": nil,
	} {
		if _, err := Parse(key, "ssh", 100, data); !errors.Is(err, ErrNotReply) {
			t.Errorf("%s: %v, want ErrNotReply", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := Encode(key, "ssh", Reply{Status: Opened, Until: time.Unix(5, 0), Period: 7})
	f.Add(good)
	f.Add([]byte("KBR\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(key, "ssh", 7, data)
		if err != nil {
			return
		}
		// Only what Encode made verifies: the bytes are exactly its.
		again, _ := Encode(key, "ssh", r)
		if !bytes.Equal(again, data) {
			t.Fatalf("Parse accepted %x, which Encode writes as %x", data, again)
		}
	})
}
