package triggers

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// FuzzCheck feeds arbitrary type properties to every trigger type: Check
// answers, never panics, and what it accepts computes its times.
func FuzzCheck(f *testing.F) {
	f.Add(TypeSchedule, `{"recurrence":{"frequency":"Month","interval":1,"startTime":"2024-01-31T00:00:00","timeZone":"Pacific Standard Time","schedule":{"monthDays":[-1,31],"monthlyOccurrences":[{"day":"friday","occurrence":-5}]}}}`)
	f.Add(TypeSchedule, `{"recurrence":{"frequency":"Day","interval":"3","startTime":"2024-03-10T02:30:00","schedule":{"minutes":7}}}`)
	f.Add(TypeTumblingWindow, `{"frequency":"Month","interval":1,"startTime":"2024-01-31T00:00:00Z","delay":"-0.00:00:01","dependsOn":[{"type":"SelfDependencyTumblingWindowTriggerReference","offset":"-1.00:00:00","size":"00:00:00"}]}`)
	f.Add(TypeBlobEvents, `{"scope":"azureml://datastores/lake","blobPathBeginsWith":"/c/blobs/","blobPathEndsWith":"/c/blobs/x.csv","events":["Microsoft.Storage.BlobDeleted"]}`)
	f.Fuzz(func(t *testing.T, typ, props string) {
		c, err := compile(factory.Trigger{Name: "f", Type: typ, TypeProperties: json.RawMessage(props)})
		if err != nil {
			return
		}
		switch {
		case c.schedule != nil:
			after := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			for range 3 {
				next, ok := c.schedule.Next(after)
				if !ok {
					break
				}
				if !next.After(after) {
					t.Fatalf("Next(%s) = %s, not after", after, next)
				}
				after = next
			}
		case c.tumbling != nil:
			for k := range 3 {
				s, e := c.tumbling.window(k)
				if !e.After(s) || c.tumbling.index(s) != k {
					t.Fatalf("window %d: [%s, %s), index %d", k, s, e, c.tumbling.index(s))
				}
			}
		}
	})
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"00:10:00", "-1.02:03:04.5", "10675.23:59:59", "1.", ":", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeSpan(s)
		if err == nil && (d > 10676*24*time.Hour || d < -10676*24*time.Hour) {
			t.Fatalf("%q: %v out of bounds", s, d)
		}
	})
}
