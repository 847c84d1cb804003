package main

import "sync"

// spawn starts n goroutines that each call wg.Done, and waits for all.
// Twin of bench/src/workloads/spawn.rs.
func spawn(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			wg.Done()
		}()
	}
	wg.Wait()
}
