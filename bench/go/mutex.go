package main

import (
	"fmt"
	"sync"
)

// goroutines is the goroutine count of the mutex and racy_counter workloads.
const goroutines = 8

// mutex has 8 goroutines each increment one mutex-protected counter n/8
// times. Twin of bench/src/workloads/mutex.rs.
func mutex(n int) {
	var mu sync.Mutex
	var counter uint64
	var wg sync.WaitGroup
	wg.Add(goroutines)
	for g := 0; g < goroutines; g++ {
		g := g
		go func() {
			for i := share(n, goroutines, g); i > 0; i-- {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	mu.Lock()
	if counter != uint64(n) {
		panic(fmt.Sprintf("mutex: no increment is lost: %d != %d", counter, n))
	}
	mu.Unlock()
}
