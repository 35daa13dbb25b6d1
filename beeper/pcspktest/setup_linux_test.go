package pcspktest

import (
	"strings"
	"testing"
)

func TestParseKernelDepends(t *testing.T) {
	tests := []struct {
		name, out, want, wantErr string
	}{
		{
			name: "bookworm",
			out:  "linux-image-amd64\n  Depends: linux-image-6.1.0-48-amd64\n",
			want: "linux-image-6.1.0-48-amd64",
		},
		{
			name: "alternatives and recommends around it",
			out:  "linux-image-amd64\n  Recommends: firmware-linux-free\n  Depends: <linux-image-virtual>\n  Depends: linux-image-6.12.9-amd64\n  Depends: linux-image-6.1.0-1-amd64\n",
			want: "linux-image-6.12.9-amd64",
		},
		{
			name:    "empty package lists",
			out:     "linux-image-amd64\n",
			wantErr: "apt-get update",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKernelDepends([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseKernelDepends = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
