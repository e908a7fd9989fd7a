package trigger

import (
	"testing"
	"time"
)

// BenchmarkNextEveryMinute is the densest cron: every wall-clock minute of
// a day is a candidate.
func BenchmarkNextEveryMinute(b *testing.B) {
	tr, err := Compile(Definition{Type: TypeCron, Expression: "* * * * *", TimeZone: "Pacific Standard Time"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	after := time.Date(2024, 6, 1, 12, 0, 30, 0, time.UTC)
	for b.Loop() {
		tr.Next(after)
	}
}
