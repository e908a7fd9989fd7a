package triggers

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScheduleTimes checks the times a ScheduleTrigger's recurrence fires
// at, as Data Factory's documentation describes them.
func TestScheduleTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rec   string // typeProperties.recurrence
		after string
		want  []string
	}{
		{"every 15 minutes, interval as a string", `{"frequency":"Minute","interval":"15","startTime":"2024-01-01T00:05:00Z"}`,
			"2024-01-01T10:00:00Z", []string{"2024-01-01T10:05:00Z", "2024-01-01T10:20:00Z"}},
		{"5:15 and 17:15 every day", `{"frequency":"Day","interval":1,"startTime":"2024-01-01T00:00:00Z","schedule":{"minutes":[15],"hours":[5,17]}}`,
			"2024-01-02T06:00:00Z", []string{"2024-01-02T17:15:00Z", "2024-01-03T05:15:00Z"}},
		{"minutes alone fire every hour", `{"frequency":"Day","interval":1,"startTime":"2024-01-01T08:10:00Z","schedule":{"minutes":[0,30]}}`,
			"2024-01-01T10:10:00Z", []string{"2024-01-01T10:30:00Z", "2024-01-01T11:00:00Z"}},
		{"hours alone take the start's minute", `{"frequency":"Day","interval":1,"startTime":"2024-01-01T08:25:00Z","schedule":{"hours":[5]}}`,
			"2024-01-01T10:00:00Z", []string{"2024-01-02T05:25:00Z"}},
		{"an hour given as one number", `{"frequency":"Day","interval":1,"startTime":"2024-01-01T00:00:00Z","schedule":{"hours":6,"minutes":0}}`,
			"2024-01-01T10:00:00Z", []string{"2024-01-02T06:00:00Z"}},
		{"5 pm on monday, wednesday, friday", `{"frequency":"Week","interval":1,"startTime":"2024-01-01T00:00:00Z","schedule":{"hours":[17],"minutes":[0],"weekDays":["Monday","Wednesday","Friday"]}}`,
			"2024-01-03T18:00:00Z", []string{"2024-01-05T17:00:00Z", "2024-01-08T17:00:00Z"}},
		{"6 am on the first and last day of the month", `{"frequency":"Month","interval":1,"startTime":"2024-01-10T00:00:00Z","schedule":{"minutes":[0],"hours":[6],"monthDays":[1,-1]}}`,
			"2024-01-10T00:00:00Z", []string{"2024-01-31T06:00:00Z", "2024-02-01T06:00:00Z", "2024-02-29T06:00:00Z"}},
		{"the first friday at 5 am", `{"frequency":"Month","interval":1,"startTime":"2024-01-01T00:00:00Z","schedule":{"minutes":[0],"hours":[5],"monthlyOccurrences":[{"day":"Friday","occurrence":1}]}}`,
			"2024-01-06T00:00:00Z", []string{"2024-02-02T05:00:00Z", "2024-03-01T05:00:00Z"}},
		{"2:30 in Pacific time fires once through the spring jump", `{"frequency":"Day","interval":1,"startTime":"2024-03-01T00:00:00","timeZone":"Pacific Standard Time","schedule":{"hours":[2],"minutes":[30]}}`,
			"2024-03-09T12:00:00Z", []string{"2024-03-10T10:30:00Z", "2024-03-11T09:30:00Z"}},
		{"1:30 in Pacific time fires once in the repeated hour", `{"frequency":"Day","interval":1,"startTime":"2024-11-01T00:00:00","timeZone":"Pacific Standard Time","schedule":{"hours":[1],"minutes":[30]}}`,
			"2024-11-03T00:00:00Z", []string{"2024-11-03T08:30:00Z", "2024-11-04T09:30:00Z"}},
		{"the end time stops it", `{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z","endTime":"2024-01-01T02:00:00Z"}`,
			"2024-01-01T00:30:00Z", []string{"2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := compileSchedule(json.RawMessage(`{"recurrence":` + tc.rec + `}`))
			if err != nil {
				t.Fatal(err)
			}
			after := mustTime(t, tc.after)
			for i, w := range tc.want {
				got, ok := tr.Next(after)
				if w == "" {
					if ok {
						t.Fatalf("firing %d: %s, want none", i, got)
					}
					return
				}
				if !ok || !got.Equal(mustTime(t, w)) {
					t.Fatalf("firing %d after %s: %s (%v), want %s", i, after, got.UTC(), ok, w)
				}
				after = got
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	tw := func(props string) factory.Trigger {
		return factory.Trigger{Name: "t", Type: TypeTumblingWindow, TypeProperties: json.RawMessage(props)}
	}
	tests := []struct {
		name  string
		trig  factory.Trigger
		field string
		msg   string
	}{
		{"unknown type", factory.Trigger{Name: "t", Type: "CustomEventsTrigger"}, "type", "ScheduleTrigger, TumblingWindowTrigger and BlobEventsTrigger"},
		{"no recurrence", factory.Trigger{Name: "t", Type: TypeSchedule, TypeProperties: json.RawMessage(`{}`)}, "typeProperties.recurrence", "required"},
		{"month day zero", factory.Trigger{Name: "t", Type: TypeSchedule, TypeProperties: json.RawMessage(
			`{"recurrence":{"frequency":"Month","interval":1,"startTime":"2024-01-01T00:00:00Z","schedule":{"monthDays":[0]}}}`)},
			"typeProperties.recurrence.schedule.monthDays", "-31"},
		{"windows zone", factory.Trigger{Name: "t", Type: TypeSchedule, TypeProperties: json.RawMessage(
			`{"recurrence":{"frequency":"Day","interval":1,"startTime":"2024-01-01T00:00:00","timeZone":"Europe/Berlin"}}`)},
			"typeProperties.recurrence.timeZone", "W. Europe Standard Time"},
		{"tumbling by day", tw(`{"frequency":"Day","interval":1,"startTime":"2024-01-01T00:00:00Z"}`), "typeProperties.frequency", "Minute, Hour or Month"},
		{"too many at once", tw(`{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z","maxConcurrency":51}`), "typeProperties.maxConcurrency", "1 to 50"},
		{"self-dependency ahead", tw(`{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z","dependsOn":[{"type":"SelfDependencyTumblingWindowTriggerReference","offset":"01:00:00"}]}`),
			"typeProperties.dependsOn[0].offset", "negative"},
		{"bad offset", tw(`{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z","dependsOn":[{"type":"TumblingWindowTriggerDependencyReference","referenceTrigger":{"referenceName":"a"},"offset":"1h"}]}`),
			"typeProperties.dependsOn[0].offset", "time span"},
		{"blob scope", factory.Trigger{Name: "t", Type: TypeBlobEvents, TypeProperties: json.RawMessage(`{"scope":"../x","events":["Microsoft.Storage.BlobCreated"]}`)},
			"typeProperties.scope", "datastore"},
		{"blob event", factory.Trigger{Name: "t", Type: TypeBlobEvents, TypeProperties: json.RawMessage(`{"scope":"lake","events":["Microsoft.Storage.BlobRenamed"]}`)},
			"typeProperties.events", "BlobRenamed"},
		{"blob path climbs", factory.Trigger{Name: "t", Type: TypeBlobEvents, TypeProperties: json.RawMessage(`{"scope":"lake","events":["Microsoft.Storage.BlobCreated"],"blobPathBeginsWith":"/c/blobs/../../etc/"}`)},
			"typeProperties.blobPathBeginsWith", "container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.trig)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(ie.Msg, tc.msg) || ie.Trigger != "t" {
				t.Fatalf("Check: %v, want field %s saying %q", err, tc.field, tc.msg)
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"00:10:00": 10 * time.Minute, "-01:00:00": -time.Hour, "1.02:00:00": 26 * time.Hour,
		"00:00:01.5": 1500 * time.Millisecond, "-2.00:00:00": -48 * time.Hour,
	} {
		if got, err := ParseTimeSpan(in); err != nil || got != want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1h", "24:00:00", "00:60:00", "a.00:00:00", "00:00:60"} {
		if _, err := ParseTimeSpan(in); err == nil {
			t.Errorf("ParseTimeSpan(%q) accepted", in)
		}
	}
}

func TestBlobPaths(t *testing.T) {
	t.Parallel()
	b, err := compileBlobEvents(json.RawMessage(`{"scope":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/lake",
		"events":["Microsoft.Storage.BlobCreated"],"blobPathBeginsWith":"/sales/blobs/in/","blobPathEndsWith":".csv"}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.datastore != "lake" || b.root != "sales/in" || b.prefix != "sales/in/" || b.suffix != ".csv" {
		t.Fatalf("compiled %+v", b)
	}
	for p, want := range map[string]bool{"sales/in/a.csv": true, "sales/in/x/b.csv": true, "sales/in/a.txt": false,
		"sales/out/a.csv": false, "sales/in/.a.csv": false} {
		if b.matches(p) != want {
			t.Errorf("matches(%q) = %v", p, !want)
		}
	}
}
