//go:build !race

package main

// raceEnabled reports a -race build: the output line says mode=go.
const raceEnabled = false
