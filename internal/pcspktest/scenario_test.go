package pcspktest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var guestEventTests = []struct {
	name    string
	console string
	want    []GuestEvent
	wantErr string
}{
	{
		name:    "a boot's markers among the guest's own output",
		console: "SeaBIOS\r\n@@KB 2132812784 boot\r\nguestinit: PC Speaker is /dev/input/event1\n@@KB 2331612176 marker-on\n",
		want:    []GuestEvent{{At: 2132812784, Kind: EventBoot}, {At: 2331612176, Kind: EventMarkerOn}},
	},
	{
		name:    "glued to a kernel message without a newline",
		console: "Probing EDD (edd=off to disable)... ok@@KB 5 boot\n",
		want:    []GuestEvent{{At: 5, Kind: EventBoot}},
	},
	{
		name:    "name and detail",
		console: `@@KB 7 exit "beep" "signal: terminated"` + "\n",
		want:    []GuestEvent{{At: 7, Kind: EventExit, Name: "beep", Detail: "signal: terminated"}},
	},
	{
		name:    "detail without a name",
		console: `@@KB 8 error "" "guestinit: no \"PC Speaker\""` + "\n",
		want:    []GuestEvent{{At: 8, Kind: EventError, Detail: `guestinit: no "PC Speaker"`}},
	},
	{
		name:    "not a time",
		console: "@@KB soon boot\n",
		wantErr: "line 1",
	},
	{
		name:    "unquoted name",
		console: "@@KB 1 start beep\n",
		wantErr: "not a quoted string",
	},
	{
		name:    "a kind that is not a word (found by fuzzing)",
		console: "@@KB 0 0\r \n",
		wantErr: "not a word",
	},
	{
		name:    "no kind",
		console: "ok\n@@KB 1 \n",
		wantErr: "line 2",
	},
}

func TestParseGuestEvents(t *testing.T) {
	for _, tt := range guestEventTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGuestEvents([]byte(tt.console))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseGuestEvents error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("events (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
}

// TestGuestEventRoundTrip writes events the way /init does and reads them
// back the way the host does.
func TestGuestEventRoundTrip(t *testing.T) {
	events := []GuestEvent{
		{At: 0, Kind: EventBoot},
		{At: 3 * time.Second, Kind: EventStart, Name: "knockbeepd", Detail: "/bin/knockbeepd --speaker console -i lo"},
		{At: 4 * time.Second, Kind: EventSignal, Name: "beep", Detail: "SIGTERM"},
		{At: 5 * time.Second, Kind: EventError, Detail: "guestinit: step 2 (wait beep): beep did not exit within 5s\nline two"},
	}
	var console strings.Builder
	for _, e := range events {
		console.WriteString(GuestMarker + " " + e.String() + "\r\n")
	}
	got, err := ParseGuestEvents([]byte(console.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(events, got) {
		t.Errorf("round trip (-want +got):\n-%+v\n+%+v", events, got)
	}
}

func FuzzParseGuestEvents(f *testing.F) {
	for _, tt := range guestEventTests {
		f.Add(tt.console)
	}
	f.Fuzz(func(t *testing.T, console string) {
		events, err := ParseGuestEvents([]byte(console))
		if err != nil {
			return
		}
		for _, e := range events {
			if e.At < 0 || e.Kind == "" {
				t.Errorf("impossible event %+v", e)
			}
			// What parses prints back to a line that parses the same.
			again, err := ParseGuestEvents([]byte(GuestMarker + " " + e.String() + "\n"))
			if err != nil || len(again) != 1 || again[0] != e {
				t.Errorf("%+v prints as %q, which reads back as %+v, %v", e, e.String(), again, err)
			}
		}
	})
}
