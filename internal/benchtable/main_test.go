package main

import (
	"strings"
	"testing"
)

// sample is scripts/bench's output in part: results, logs, a skip.
const sample = `goos: linux
goarch: amd64
pkg: github.com/knockbeep/knockbeep/knock/daemon
BenchmarkLiveFlood/one-source-2         	       3	    812345 syn/s	         1.000 handled/sent	         0 kernel-drops	         0.5600 cpu-s/Msyn	         0 ns/op
BenchmarkLiveFlood/random-sources-2     	       3	    700000 syn/s	         1.000 handled/sent	         0 kernel-drops	         0.9000 cpu-s/Msyn	         0 ns/op
BenchmarkKnockdFlood-2                  	       3	    650000 syn/s	         4.480 cpu-s/Msyn	         0 ns/op
time=2026-12-02T22:14:01.021Z level=WARN msg="BenchmarkLiveFlood is not a result"
BenchmarkFloodDetection/knockbeepd-2    	       1	         2.285 cpu-s/Msyn	        10.00 detected-of-10
--- SKIP: BenchmarkFloodDetection/knockd
    bench_scale_linux_test.go:270: needs Debian's knockd for the comparison: apt-get install knockd
BenchmarkIdle-2             	       1	        28.11 bench-rss-MiB	         8.477 cpu-s/hour
BenchmarkIdleMusic-2        	       1	        28.11 bench-rss-MiB	         0.312 cpu-s/hour
PASS
`

func TestTable(t *testing.T) {
	r, skips, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := r["BenchmarkLiveFlood/one-source"]["cpu-s/Msyn"]; got != 0.56 {
		t.Errorf("one-source cpu-s/Msyn = %v, want 0.56 (the -2 suffix dropped)", got)
	}
	var out strings.Builder
	table(&out, r, skips)
	for _, want := range []string{
		"| one-source SYN flood, CPU-s per million SYNs | 0.56 | 4.48 | 12 % |",
		"| random-source flood, CPU-s per million SYNs (ratio: to our one-source figure) | 0.90 |  | 161 % |",
		"| valid knocks detected amid a one-source flood, of 10 | 10 | — |  |",
		"| idle, CPU-s per hour (a door / the default music doors) | 8.48 / 0.31 |  |  |",
		"| knock → pool append, p50 / p99 ms | — / — | no music |  |",
		"BenchmarkFloodDetection/knockd did not run: needs Debian's knockd for the comparison: apt-get install knockd",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"BenchmarkX-2 1 12 ns/op 5\n",
		"BenchmarkX-2 1 twelve ns/op\n",
	} {
		if _, _, err := parse(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "benchtable:") {
			t.Errorf("parse(%q) = %v, want an error naming the line", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("BenchmarkX-2 1 12 ns/op 5\n")
	f.Add("--- SKIP: BenchmarkY\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, skips, err := parse(strings.NewReader(in))
		if err != nil {
			return
		}
		var out strings.Builder
		table(&out, r, skips) // never panics, whatever parsed
		if !strings.HasPrefix(out.String(), "| load |") {
			t.Fatalf("the table does not start with its header: %q", out.String())
		}
	})
}
