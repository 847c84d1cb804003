package main

import "sync"

// spawnPark starts n goroutines that each block receiving from one shared
// unbuffered channel; once all have started, it closes the channel and waits
// for all to exit. Twin of bench/src/workloads/spawn_park.rs.
func spawnPark(n int) {
	gate := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(n)
	exited.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			// Parks until the close; nothing is ever sent.
			if _, ok := <-gate; ok {
				panic("spawn_park: nothing is sent on the gate")
			}
			exited.Done()
		}()
	}
	started.Wait()
	close(gate)
	exited.Wait()
}
