// Command benchtable reads the output of the benchmarks scripts/bench runs
// (go test -bench, any number of packages) and prints the side-by-side
// table of docs/benchmarks.md: knockbeepd against Debian's knockd under
// the same floods, the latencies, the memory under a million sources, the
// idle cost, and our beep against beep 1.4. A figure whose benchmark did
// not run (no root, no knockd) shows as "—", with the reason under the
// table when the output gave one.
package main
