// Command gobench is the Go twin of goro-bench: it runs one workload of
// bench/WORKLOADS.md and prints one line,
//
//	workload=<name> n=<N> mode=<go|go-race> wall_s=<seconds> ns_per_op=<ns>
//
// Each workload mirrors the Rust function of the same name in
// bench/src/workloads/, statement by statement. Only the workload body is
// timed, as on the goro side. GOMAXPROCS is left at its default (the number
// of cores), as goro runs one worker per core.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// workload is one benchmark: its default N and its body.
type workload struct {
	name     string
	defaultN int
	run      func(n int)
}

// workloads lists the nine workloads in the order of bench/WORKLOADS.md.
var workloads = []workload{
	{"spawn", 1_000_000, spawn},
	{"spawn_park", 1_000_000, spawnPark},
	{"pingpong", 1_000_000, pingpong},
	{"buffered", 10_000_000, buffered},
	{"fanout", 1_000_000, fanout},
	{"fanout_ctx", 1_000_000, fanoutCtx},
	{"mutex", 10_000_000, mutex},
	{"select", 10_000_000, selectLoop},
	{"racy_counter", 1_000_000, racyCounter},
}

// share is how many of n operations goroutine i of k performs: n/k, plus one
// for the first n%k goroutines, so the total is exactly n (same split as the
// Rust `share`).
func share(n, k, i int) int {
	s := n / k
	if i < n%k {
		s++
	}
	return s
}

// mode is "go-race" when built with -race (see race.go), else "go".
func mode() string {
	if raceEnabled {
		return "go-race"
	}
	return "go"
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s -w <workload> -n <N>\n\nworkloads (default N):\n", os.Args[0])
	for _, w := range workloads {
		fmt.Fprintf(os.Stderr, "  %-13s %d\n", w.name, w.defaultN)
	}
}

func main() {
	flag.Usage = usage
	name := flag.String("w", "", "workload name")
	n := flag.Int("n", 0, "workload size N (> 0)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "gobench: unexpected arguments %q\n\n", flag.Args())
		usage()
		os.Exit(2)
	}
	var w *workload
	for i := range workloads {
		if workloads[i].name == *name {
			w = &workloads[i]
		}
	}
	if w == nil {
		fmt.Fprintf(os.Stderr, "gobench: unknown or missing workload -w %q\n\n", *name)
		usage()
		os.Exit(2)
	}
	if *n < 1 {
		fmt.Fprintf(os.Stderr, "gobench: -n must be a positive integer, got %d\n\n", *n)
		usage()
		os.Exit(2)
	}
	start := time.Now()
	w.run(*n)
	wall := time.Since(start)
	fmt.Printf("workload=%s n=%d mode=%s wall_s=%.6f ns_per_op=%.2f\n",
		w.name, *n, mode(), wall.Seconds(), float64(wall.Nanoseconds())/float64(*n))
}
