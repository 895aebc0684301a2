//go:build !race

package keeper

// raceEnabled is false without the race detector, whose overhead makes the
// RSS limit meaningless.
const raceEnabled = false
