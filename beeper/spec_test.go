package beeper

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		text    string
		want    Spec
		wantErr string
	}{
		{text: "auto", want: Spec{Kind: "auto"}},
		{text: "none", want: Spec{Kind: "none"}},
		{text: "evdev", want: Spec{Kind: "evdev"}},
		{text: "evdev:/dev/input/event3", want: Spec{Kind: "evdev", Path: "/dev/input/event3"}},
		{text: "console", want: Spec{Kind: "console"}},
		{text: "console:/dev/tty0", want: Spec{Kind: "console", Path: "/dev/tty0"}},
		{text: "speaker", want: Spec{Kind: "speaker"}},
		{text: "speaker:/dev/speaker", want: Spec{Kind: "speaker", Path: "/dev/speaker"}},
		{text: "wav:out.wav", want: Spec{Kind: "wav", Path: "out.wav"}},
		{text: "wav:/var/lib/knockbeep/played", want: Spec{Kind: "wav", Path: "/var/lib/knockbeep/played"}},
		{text: "wav:C:dir", want: Spec{Kind: "wav", Path: "C:dir"}},
		{text: "", wantErr: `unknown speaker ""; valid speakers: auto, evdev[:PATH]`},
		{text: "pcspkr", wantErr: `unknown speaker "pcspkr"; valid speakers: auto, evdev[:PATH], console[:PATH], speaker[:PATH], wav:PATH`},
		{text: "Auto", wantErr: `unknown speaker "Auto"`},
		{text: "/dev/tty0", wantErr: `unknown speaker "/dev/tty0"`},
		{text: "auto:x", wantErr: `speaker "auto:x": auto takes no path`},
		{text: "none:", wantErr: `speaker "none:": none takes no path`},
		{text: "evdev:", wantErr: `speaker "evdev:": empty path after ':'`},
		{text: "wav", wantErr: `speaker "wav": wav needs a path: wav:FILE.wav or wav:DIRECTORY`},
		{text: "wav:", wantErr: `wav needs a path`},
		{text: "console:/dev/tty\x000", wantErr: `the path contains a NUL byte`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseSpec(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) = %v, %v; want an error containing %q", tt.text, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.text, err)
			}
			if got != tt.want {
				t.Errorf("ParseSpec(%q) (-want +got):\n-%+v\n+%+v", tt.text, tt.want, got)
			}
			if got.String() != tt.text {
				t.Errorf("String() = %q, want the text it came from, %q", got.String(), tt.text)
			}
		})
	}
}

// Callers that word their own messages get the parts of the error: an
// unknown kind, or the problem with a known one.
func TestSpecErrorParts(t *testing.T) {
	tests := []struct {
		text        string
		wantUnknown bool
		wantProblem string
	}{
		{"evdv", true, ""},
		{"evdv:/dev/input/event3", true, ""},
		{"wav", false, "wav needs a path: wav:FILE.wav or wav:DIRECTORY"},
		{"none:x", false, "none takes no path; valid speakers: " + SpecForms},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := ParseSpec(tt.text)
			var bad *SpecError
			if !errors.As(err, &bad) {
				t.Fatalf("ParseSpec(%q) = %v, want a *SpecError", tt.text, err)
			}
			if bad.Unknown != tt.wantUnknown || bad.Problem != tt.wantProblem {
				t.Errorf("(-want +got):\n-unknown %v, problem %q\n+unknown %v, problem %q", tt.wantUnknown, tt.wantProblem, bad.Unknown, bad.Problem)
			}
		})
	}
	for _, kind := range SpecKinds() {
		if !strings.Contains(SpecForms, kind) {
			t.Errorf("SpecForms %q does not show kind %q", SpecForms, kind)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"auto", "none", "evdev", "evdev:/dev/input/event3", "console:/dev/tty0",
		"speaker", "wav:out.wav", "wav:dir", "auto:x", "evdev:", "wav", "", "pcspkr", "wav::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpec(text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "beeper: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			var bad *SpecError
			if !errors.As(err, &bad) || bad.Spec != text || bad.Unknown == (bad.Problem != "") {
				t.Errorf("ParseSpec(%q) error %#v: want a *SpecError for the text, unknown or with a problem", text, err)
			}
			return
		}
		if !strings.Contains(SpecForms, s.Kind) {
			t.Errorf("ParseSpec(%q) accepted kind %q", text, s.Kind)
		}
		back, err := ParseSpec(s.String())
		if err != nil || back != s {
			t.Errorf("round trip of %q: %+v → %q → %+v, %v", text, s, s.String(), back, err)
		}
	})
}
