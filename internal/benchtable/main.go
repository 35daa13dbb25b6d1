package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// A result is one benchmark's reported figures by unit ("ns/op",
// "cpu-s/Msyn", ...).
type results map[string]map[string]float64

// parse reads go test -bench output: lines "BenchmarkName-N  iters
// value unit [value unit]...". Other lines (PASS, logs, goos) are skipped;
// the -N suffix (GOMAXPROCS) is dropped, so that a name is the same on
// every machine. skips collects "--- SKIP" reasons by benchmark.
func parse(r io.Reader) (results, map[string]string, error) {
	res := results{}
	skips := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lastSkip := ""
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- SKIP: "); ok {
			lastSkip = trimProcs(strings.Fields(name)[0])
			continue
		}
		if lastSkip != "" {
			if reason := strings.TrimSpace(line); reason != "" {
				_, after, ok := strings.Cut(reason, ": ")
				if ok {
					reason = after
				}
				skips[lastSkip] = reason
			}
			lastSkip = ""
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a log line that starts with a benchmark's name
		}
		if len(f)%2 != 0 {
			return nil, nil, fmt.Errorf("benchtable: %q: want value-unit pairs after the iteration count", line)
		}
		name := trimProcs(f[0])
		if res[name] == nil {
			res[name] = map[string]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("benchtable: %q: %q is not a number", line, f[i])
			}
			res[name][f[i+1]] = v
		}
	}
	return res, skips, sc.Err()
}

// trimProcs drops the "-N" GOMAXPROCS suffix of a benchmark's name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// get returns a figure and whether it is there.
func (r results) get(bench, unit string) (float64, bool) {
	v, ok := r[bench][unit]
	return v, ok
}

// fig formats a figure, or "—" when it is missing.
func (r results) fig(bench, unit, format string) string {
	v, ok := r.get(bench, unit)
	if !ok {
		return "—"
	}
	return fmt.Sprintf(format, v)
}

// ms formats a figure in ns as milliseconds, or "—".
func (r results) ms(bench, unit string) string {
	v, ok := r.get(bench, unit)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", v/1e6)
}

// ratio formats a/b as a percentage, or "—".
func (r results) ratio(benchA, unitA, benchB, unitB string) string {
	a, okA := r.get(benchA, unitA)
	b, okB := r.get(benchB, unitB)
	if !okA || !okB || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", 100*a/b)
}

// table writes the side-by-side table.
func table(w io.Writer, r results, skips map[string]string) {
	const (
		live    = "BenchmarkLiveFlood/one-source"
		random  = "BenchmarkLiveFlood/random-sources"
		knockd  = "BenchmarkKnockdFlood"
		detOurs = "BenchmarkFloodDetection/knockbeepd"
		detKd   = "BenchmarkFloodDetection/knockd"
		lat     = "BenchmarkKnockLatency"
		nft     = "BenchmarkKnockToFirewallOpen"
		million = "BenchmarkMillionSources"
		idle    = "BenchmarkIdle"
		idleMus = "BenchmarkIdleMusic"
		beepV   = "BenchmarkStartup/--version"
		beepE   = "BenchmarkStartup/-e_tty0_-l_0"
	)
	rows := [][4]string{
		{"one-source SYN flood, CPU-s per million SYNs", r.fig(live, "cpu-s/Msyn", "%.2f"), r.fig(knockd, "cpu-s/Msyn", "%.2f"), r.ratio(live, "cpu-s/Msyn", knockd, "cpu-s/Msyn")},
		{"random-source flood, CPU-s per million SYNs (ratio: to our one-source figure)", r.fig(random, "cpu-s/Msyn", "%.2f"), "", r.ratio(random, "cpu-s/Msyn", live, "cpu-s/Msyn")},
		{"generator rate, SYN/s (one source / random)", r.fig(live, "syn/s", "%.0f") + " / " + r.fig(random, "syn/s", "%.0f"), r.fig(knockd, "syn/s", "%.0f"), ""},
		{"kernel drops (one source / random)", r.fig(live, "kernel-drops", "%.0f") + " / " + r.fig(random, "kernel-drops", "%.0f"), "", ""},
		{"valid knocks detected amid a one-source flood, of 10", r.fig(detOurs, "detected-of-10", "%.0f"), r.fig(detKd, "detected-of-10", "%.0f"), ""},
		{"CPU-s per million SYNs in that run", r.fig(detOurs, "cpu-s/Msyn", "%.2f"), r.fig(detKd, "cpu-s/Msyn", "%.2f"), r.ratio(detOurs, "cpu-s/Msyn", detKd, "cpu-s/Msyn")},
		{"knock → pool append, p50 / p99 ms", r.fig(lat, "pool-p50-ms", "%.2f") + " / " + r.fig(lat, "pool-p99-ms", "%.2f"), "no music", ""},
		{"knock → command done, p50 / p99 ms", r.fig(lat, "cmd-p50-ms", "%.2f") + " / " + r.fig(lat, "cmd-p99-ms", "%.2f"), "", ""},
		{"knock → nft set element, p50 / p99 ms", r.fig(nft, "p50-ms", "%.2f") + " / " + r.fig(nft, "p99-ms", "%.2f"), "forks iptables", ""},
		{"in the daemon: kernel's time of the knock → the kernel's ack of the set update (its log's since_knock; the element is in force before the ack), p50 / p99 ms", r.fig(nft, "daemon-p50-ms", "%.2f") + " / " + r.fig(nft, "daemon-p99-ms", "%.2f"), "", ""},
		{"1,000,000 sources (IPv4+IPv6): RSS idle / peak / 1 min after, MiB", r.fig(million, "idle-rss-MiB", "%.1f") + " / " + r.fig(million, "peak-rss-MiB", "%.1f") + " / " + r.fig(million, "rss-1min-after-MiB", "%.1f"), "", ""},
		{"1,000,000 sources: valid knocks detected of 10, kernel drops", r.fig(million, "detected-of-10", "%.0f") + ", " + r.fig(million, "kernel-drops", "%.0f"), "", ""},
		{"idle, CPU-s per hour (a door / the default music doors)", r.fig(idle, "cpu-s/hour", "%.2f") + " / " + r.fig(idleMus, "cpu-s/hour", "%.2f"), "", ""},
		{"beep --version, per run (CPU ms)", r.ms(beepV+"/knockbeep", "ns/op") + " (" + r.fig(beepV+"/knockbeep", "cpu-ms/op", "%.2f") + ")", r.ms(beepV+"/beep-1.4", "ns/op") + " (" + r.fig(beepV+"/beep-1.4", "cpu-ms/op", "%.2f") + ")", r.ratio(beepV+"/knockbeep", "ns/op", beepV+"/beep-1.4", "ns/op")},
		{"beep -e /dev/tty0 -l 0, per run (CPU ms)", r.ms(beepE+"/knockbeep", "ns/op") + " (" + r.fig(beepE+"/knockbeep", "cpu-ms/op", "%.2f") + ")", r.ms(beepE+"/beep-1.4", "ns/op") + " (" + r.fig(beepE+"/beep-1.4", "cpu-ms/op", "%.2f") + ")", r.ratio(beepE+"/knockbeep", "ns/op", beepE+"/beep-1.4", "ns/op")},
	}
	fmt.Fprintln(w, "| load | knockbeep | Debian's knockd / beep 1.4 | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row[0], row[1], row[2], row[3])
	}
	for _, name := range slices.Sorted(maps.Keys(skips)) {
		fmt.Fprintf(w, "\n%s did not run: %s", name, skips[name])
	}
	if len(skips) > 0 {
		fmt.Fprintln(w)
	}
}

func main() {
	r, skips, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(r) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on standard input")
		os.Exit(1)
	}
	table(os.Stdout, r, skips)
}
