//go:build race

package state

// raceEnabled: the race detector slows the transpiled SQLite ~50x, so
// timing limits are not checked.
const raceEnabled = true
