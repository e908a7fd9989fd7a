package tracking

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

var (
	runAdjectives = []string{"able", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fair",
		"gentle", "glad", "honest", "jolly", "keen", "kind", "lively", "lucky", "merry", "nimble", "polite", "proud",
		"quick", "quiet", "rare", "shy", "smart", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty", "zesty"}
	runNouns = []string{"ant", "bat", "bear", "bee", "cat", "colt", "crab", "crow", "deer", "dove", "duck", "eel",
		"elk", "fox", "frog", "goat", "hare", "hawk", "kit", "lamb", "lark", "mole", "moth", "newt", "owl", "ram",
		"seal", "slug", "sow", "swan", "toad", "vole", "wasp", "wolf", "wren", "yak"}
)

// randomRunName returns a name like MLflow's generated ones,
// "brave-owl-417".
func randomRunName() string {
	pick := func(n int) int {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(v.Int64())
	}
	return fmt.Sprintf("%s-%s-%d", runAdjectives[pick(len(runAdjectives))], runNouns[pick(len(runNouns))], pick(1000))
}
