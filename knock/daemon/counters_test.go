package daemon

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// distinctStats fills every number in a Stats with its own value: 1, 2,
// 3... in field order.
func distinctStats() Stats {
	var s Stats
	n := uint64(0)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		case reflect.Uint64, reflect.Uint32, reflect.Uint, reflect.Uint16, reflect.Uint8:
			n++
			v.SetUint(n)
		case reflect.Int, reflect.Int64, reflect.Int32:
			n++
			v.SetInt(int64(n))
		}
	}
	fill(reflect.ValueOf(&s).Elem())
	return s
}

// The one list of counters is what /metrics exports and what the
// shutdown line logs: each metric has the value of its Stats field and
// its kind, each logged counter the same value under its key; names and
// keys are unique, counters end in _total and gauges do not, and no two
// counters read the same field (a copied line that was not edited).
func TestCountersOneList(t *testing.T) {
	s := distinctStats()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{func() Stats { return s }})
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	byName := map[string]int{} // index in families
	for i, f := range families {
		byName[f.GetName()] = i
	}
	logged := map[string]any{}
	attrs := s.logAttrs()
	for i := 0; i+1 < len(attrs); i += 2 {
		logged[attrs[i].(string)] = attrs[i+1]
	}

	names, keys := map[string]bool{}, map[string]bool{}
	seen := map[uint64]string{}
	for _, c := range counters {
		t.Run(c.name, func(t *testing.T) {
			if names[c.name] {
				t.Fatalf("%s listed twice", c.name)
			}
			names[c.name] = true
			if strings.HasSuffix(c.name, "_total") == c.gauge {
				t.Errorf("%s: gauge %v; counters end in _total, gauges do not", c.name, c.gauge)
			}
			want := c.value(&s)
			if other, ok := seen[want]; ok {
				t.Errorf("%s reads the same number as %s (%d)", c.name, other, want)
			}
			seen[want] = c.name
			i, ok := byName[c.name]
			if !ok || len(families[i].Metric) != 1 {
				t.Fatalf("/metrics has no single %s", c.name)
			}
			m := families[i].Metric[0]
			var got float64
			if c.gauge {
				got = m.GetGauge().GetValue()
			} else {
				got = m.GetCounter().GetValue()
			}
			if got != float64(want) {
				t.Errorf("/metrics %s = %v, want %d", c.name, got, want)
			}
			if c.log == "" {
				return
			}
			if keys[c.log] {
				t.Fatalf("shutdown line key %s used twice", c.log)
			}
			keys[c.log] = true
			if v, ok := logged[c.log]; !ok || v != want {
				t.Errorf("shutdown line %s = %v, want %d", c.log, v, want)
			}
		})
	}
	if len(logged) != len(keys) {
		t.Errorf("the shutdown line has %d keys, the list %d", len(logged), len(keys))
	}
	// The order of the shutdown line is the list's.
	var order []string
	for i := 0; i < len(attrs); i += 2 {
		order = append(order, attrs[i].(string))
	}
	if !slices.Equal(order[:3], []string{"knocks", "packets", "kernel_drops"}) {
		t.Errorf("the shutdown line starts %v, want knocks, packets, kernel_drops", order[:3])
	}
}
