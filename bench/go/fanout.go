package main

import (
	"fmt"
	"sync"
)

// workers is the worker count of the guide's fan-out.
const workers = 10

// fanout is the Go concurrency guide's fan-out/fan-in: 10 workers range over
// an unbuffered jobs channel and send x*2+1 into results (capacity n); a
// feeder sends the n items and closes jobs; a closer waits on the WaitGroup
// and closes results; main collects. Twin of bench/src/workloads/fanout.rs.
func fanout(n int) {
	jobs := make(chan uint64)
	results := make(chan uint64, n)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			for x := range jobs {
				results <- x*2 + 1
			}
			wg.Done()
		}()
	}
	go func() {
		for i := 0; i < n; i++ {
			jobs <- uint64(i)
		}
		close(jobs)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	out := collect(results)
	check(out, n)
}

// collect is main's fan-in loop, growing out as the guide's append does.
func collect(results <-chan uint64) []uint64 {
	out := []uint64{}
	for r := range results {
		out = append(out, r)
	}
	return out
}

// check verifies every item was processed exactly once.
func check(out []uint64, n int) {
	if len(out) != n {
		panic(fmt.Sprintf("fanout: one result per item: %d != %d", len(out), n))
	}
	var sum uint64
	for _, r := range out {
		sum += r
	}
	// sum of 2x+1 over 0..n = 2*triangle(n) + n
	if want := triangle(uint64(n))*2 + uint64(n); sum != want {
		panic(fmt.Sprintf("fanout: every result is x*2+1: %d != %d", sum, want))
	}
}
