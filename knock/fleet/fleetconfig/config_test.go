package fleetconfig

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// keys are the [cluster] table's keys, read from Config's tags.
var keys = func() []string {
	t := reflect.TypeOf(Config{})
	var ks []string
	for i := range t.NumField() {
		ks = append(ks, t.Field(i).Tag.Get("toml"))
	}
	return ks
}()

var configTests = []struct {
	name    string
	cfg     Config
	wantErr string
}{
	{name: "embedded", cfg: Config{Name: "web", NodeKey: "k", Trust: "t", Serve: "0.0.0.0:4222", Routes: []string{"nats-route://10.0.0.2:6222"}}},
	{name: "external", cfg: Config{Name: "web", NodeKey: "k", Trust: "t", NATS: []string{"nats://10.0.0.5:4222", "tls://n2:4222"}, Credentials: "c", TLSCA: "ca.pem"}},
	{name: "no name", cfg: Config{NodeKey: "k", Trust: "t", Serve: ":4222"}, wantErr: `name ""`},
	{name: "bad name", cfg: Config{Name: "a.b", NodeKey: "k", Trust: "t", Serve: ":4222"}, wantErr: `name "a.b"`},
	{name: "no key", cfg: Config{Name: "w", Trust: "t", Serve: ":4222"}, wantErr: "node_key is required"},
	{name: "no trust", cfg: Config{Name: "w", NodeKey: "k", Serve: ":4222"}, wantErr: "trust is required"},
	{name: "neither", cfg: Config{Name: "w", NodeKey: "k", Trust: "t"}, wantErr: "set nats"},
	{name: "both", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", NATS: []string{"nats://h:4222"}}, wantErr: "exclusive"},
	{name: "bad url", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", NATS: []string{"http://h"}}, wantErr: "want a nats:// URL"},
	{name: "url with user", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", NATS: []string{"nats://u:p@h:4222"}}},
	{name: "url without host", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", NATS: []string{"nats://u@/x"}}, wantErr: "has no host"},
	{name: "name too long", cfg: Config{Name: strings.Repeat("a", 33), NodeKey: "k", Trust: "t", Serve: ":4222"}, wantErr: "want 1 to 32"},
	{name: "bad serve", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: "4222"}, wantErr: `serve "4222"`},
	{name: "routes without serve", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", NATS: []string{"nats://h:4222"}, Routes: []string{"nats-route://h:6222"}}, wantErr: "routes need serve"},
	{name: "bad route", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", Routes: []string{"h:6222"}}, wantErr: "want a nats-route:// URL"},
	{name: "listen without routes", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", ClusterListen: ":7222"}, wantErr: "cluster_listen without routes"},
	{name: "credentials embedded", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", Credentials: "c"}, wantErr: "for an external cluster"},
	{name: "server program relative", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", ServerProgram: "bin/knockbeep-nats"}, wantErr: `server_program "bin/knockbeep-nats": want an absolute path`},
	{name: "server program without serve", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", NATS: []string{"nats://h:4222"}, ServerProgram: "p"}, wantErr: "server_program needs serve"},
	{name: "replicas", cfg: Config{Name: "w", NodeKey: "k", Trust: "t", Serve: ":4222", Replicas: 9}, wantErr: "replicas 9"},
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range configTests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.cfg.Enabled() {
				t.Fatal("a config with keys set is not enabled")
			}
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			// Each problem names a key of the table, or none, for the
			// config reader to find its line.
			for _, p := range tt.cfg.Problems() {
				if p.Key != "" && !slices.Contains(keys, p.Key) {
					t.Errorf("problem %q names key %q, not a key of [cluster]", p.Msg, p.Key)
				}
			}
		})
	}
	if (Config{}).Enabled() {
		t.Error("the zero config (no [cluster]) is enabled")
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Serve: "10.0.0.1:4222", Routes: []string{"a", "b", "c", "d"}}
	if h, p, _ := c.ClusterListenAddr(); h != "10.0.0.1" || p != DefaultClusterPort {
		t.Errorf("cluster listen %s:%d, want 10.0.0.1:%d", h, p, DefaultClusterPort)
	}
	if r := c.ReplicaCount(); r != 3 {
		t.Errorf("replicas %d for five embedded nodes, want 3", r)
	}
	if r := (Config{NATS: []string{"x"}}).ReplicaCount(); r != 1 {
		t.Errorf("replicas %d on an external cluster, want 1", r)
	}
}

// FuzzSplitHostPort checks the address rule of serve and cluster_listen:
// no panic, and an accepted address has a port in range.
func FuzzSplitHostPort(f *testing.F) {
	for _, tt := range configTests {
		f.Add(tt.cfg.Serve)
		f.Add(tt.cfg.ClusterListen)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, port, err := SplitHostPort(s)
		if err == nil && (port < -1 || port > 65535) {
			t.Fatalf("%q: port %d accepted", s, port)
		}
	})
}

func TestClientHost(t *testing.T) {
	for host, want := range map[string]string{
		"":          "127.0.0.1",
		"0.0.0.0":   "127.0.0.1",
		"::":        "::1",
		"10.0.0.1":  "10.0.0.1",
		"fe80::1":   "fe80::1",
		"node1.lan": "node1.lan",
	} {
		if got := ClientHost(host); got != want {
			t.Errorf("ClientHost(%q) = %q, want %q", host, got, want)
		}
	}
}
