//go:build !race

package python

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = false
