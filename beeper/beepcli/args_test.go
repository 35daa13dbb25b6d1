package beepcli

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		args     string
		wantExt  extensions
		wantRest string
		wantErr  string
	}{
		{args: "-f 440 --print", wantExt: extensions{print: true}, wantRest: "-f 440"},
		{args: "--song a.beep --wav=x.wav --wav-rate 8000", wantExt: extensions{song: "a.beep", wav: "x.wav", wavRate: 8000}},
		{args: "--song=a.rtttl -e /dev/tty0", wantExt: extensions{song: "a.rtttl"}, wantRest: "-e /dev/tty0"},
		{args: "-e --print", wantRest: "-e --print"},
		{args: "-se --song", wantRest: "-se --song"},
		{args: "-e/dev/x --print", wantExt: extensions{print: true}, wantRest: "-e/dev/x"},
		{args: "--device --wav", wantRest: "--device --wav"},
		{args: "--dev --wav", wantRest: "--dev --wav"},
		{args: "--device=/dev/x --print", wantExt: extensions{print: true}, wantRest: "--device=/dev/x"},
		{args: "--debug --print", wantExt: extensions{print: true}, wantRest: "--debug"},
		{args: "-- --print", wantRest: "-- --print"},
		{args: "-l 10 -n -f -1", wantRest: "-l 10 -n -f -1"},
		{args: "--wav", wantErr: "option --wav needs a value"},
		{args: "--song=", wantErr: "option --song needs a non-empty value"},
		{args: "--wav-rate 8k", wantErr: `--wav-rate "8k": not a whole number of hertz`},
		{args: "--wav-rate 0000", wantErr: `--wav-rate "0000": not a whole number of hertz`}, // found by FuzzSplitArgs: 0 went unnoticed
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ext, rest, _, err := splitArgs(strings.Fields(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("splitArgs = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ext != tt.wantExt || strings.Join(rest, " ") != tt.wantRest {
				t.Errorf("splitArgs(%s) (-want +got):\n-%+v %q\n+%+v %q", tt.args, tt.wantExt, tt.wantRest, ext, strings.Join(rest, " "))
			}
		})
	}
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"-f 440 --print", "--song a.beep --wav=x.wav --wav-rate 8000", "-e --print",
		"-se --song", "--dev --wav", "-- --print", "--wav", "--song=", "--wav-rate 8k"} {
		f.Add(strings.ReplaceAll(s, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		ext, rest, index, err := splitArgs(args)
		if err != nil {
			return
		}
		// What is left for beep is a subsequence of args, in order.
		if len(rest) != len(index) || !slices.IsSorted(index) {
			t.Fatalf("rest %q with indexes %v", rest, index)
		}
		for i, at := range index {
			if at < 0 || at >= len(args) || args[at] != rest[i] || (i > 0 && index[i-1] == at) {
				t.Fatalf("rest[%d] = %q is not args[%d]", i, rest[i], at)
			}
		}
		// Every argument taken out is one of ours or its value.
		taken := len(args) - len(rest)
		ours := 0
		for _, s := range []string{ext.song, ext.wav} {
			if s != "" {
				ours++
			}
		}
		if ext.wavRate != 0 {
			ours++
		}
		if ext.print {
			ours++
		}
		if ours == 0 && taken != 0 {
			t.Fatalf("took %d arguments out of %q, none of ours: %s", taken, args, fmt.Sprint(rest))
		}
	})
}
