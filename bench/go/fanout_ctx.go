package main

import (
	"context"
	"sync"
)

// fanoutCtx is fanout with the guide's cancellation: the feeder sends each
// item in a select against ctx.Done() of a cancel context derived from
// context.Background(), never cancelled while it runs. Twin of
// bench/src/workloads/fanout_ctx.rs.
func fanoutCtx(n int) {
	ctx, cancel := context.WithCancel(context.Background())
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
			select {
			case jobs <- uint64(i):
			case <-ctx.Done():
				// Not taken: the context is never cancelled while feeding.
				i = n
			}
		}
		close(jobs)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	out := collect(results)
	// The guide's `defer cancel()`: released once the work is collected.
	cancel()
	check(out, n)
}
