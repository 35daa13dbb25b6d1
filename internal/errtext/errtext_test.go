package errtext

import (
	"errors"
	"testing"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"one line", errors.New("bad port"), "knock: bad port"},
		{"joined", errors.Join(errors.New("tone port 0"), errors.New("step 0s")), "knock: tone port 0\nknock: step 0s"},
		{"trailing newline", errors.New("x\n"), "knock: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Lines("knock: ", tt.err); got != tt.want {
				t.Errorf("Lines = %q, want %q", got, tt.want)
			}
		})
	}
}
