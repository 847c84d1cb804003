package main

import (
	"fmt"
	"sync"
)

// racyCounter has 8 goroutines each do an unsynchronized read-modify-write
// of one shared integer n/8 times. Lost updates are expected: this is the
// program the race detector must flag. Twin of
// bench/src/workloads/racy_counter.rs.
func racyCounter(n int) {
	var counter int64
	var wg sync.WaitGroup
	wg.Add(goroutines)
	for g := 0; g < goroutines; g++ {
		g := g
		go func() {
			for i := share(n, goroutines, g); i > 0; i-- {
				counter = counter + 1 // racy read, then racy write
			}
			wg.Done()
		}()
	}
	wg.Wait()
	// Lost updates are the point; only a counter above n would be a bug.
	if counter < 1 || counter > int64(n) {
		panic(fmt.Sprintf("racy_counter: %d not in 1..=%d", counter, n))
	}
}
