package triggers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Trigger types ciel runs.
const (
	TypeSchedule       = "ScheduleTrigger"
	TypeTumblingWindow = "TumblingWindowTrigger"
	TypeBlobEvents     = "BlobEventsTrigger"
)

// InvalidError is a trigger definition ciel refuses, naming the field at
// fault the way Data Factory's JSON does
// ("typeProperties.recurrence.schedule.monthDays").
type InvalidError struct {
	Trigger string
	Field   string
	Msg     string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("trigger %q: %s: %s", e.Trigger, e.Field, e.Msg)
}

// compiled is a checked trigger: exactly one of its kinds is set.
type compiled struct {
	def      factory.Trigger
	schedule *trigger.Trigger
	tumbling *tumbling
	blobs    *blobEvents
}

// Check reports why t cannot run: an unknown type, or type properties
// that do not describe a trigger ciel can fire. Problems are
// *InvalidError. Check does not look at the pipelines t names.
func Check(t factory.Trigger) error {
	_, err := compile(t)
	return err
}

// compile checks t and returns its compiled form.
func compile(t factory.Trigger) (*compiled, error) {
	c := &compiled{def: t}
	var err error
	switch t.Type {
	case TypeSchedule:
		c.schedule, err = compileSchedule(t.TypeProperties)
	case TypeTumblingWindow:
		c.tumbling, err = compileTumbling(t.TypeProperties)
		if err == nil && len(t.Pipelines) > 1 {
			err = &InvalidError{Field: "pipeline", Msg: "a tumbling window trigger starts one pipeline"}
		}
	case TypeBlobEvents:
		c.blobs, err = compileBlobEvents(t.TypeProperties)
	case "":
		err = &InvalidError{Field: "type", Msg: "required: ScheduleTrigger, TumblingWindowTrigger or BlobEventsTrigger"}
	default:
		err = &InvalidError{Field: "type", Msg: fmt.Sprintf("ciel cannot run a %s; it runs ScheduleTrigger, TumblingWindowTrigger and BlobEventsTrigger", t.Type)}
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		ie.Trigger = t.Name
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// decodeProps decodes type properties, refusing what is not an object.
func decodeProps(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return invalid("typeProperties", "required")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid("typeProperties", "%v", err)
	}
	return nil
}

// intOrList is an integer or a list of them, as a schedule's hours and
// minutes may be written.
type intOrList []int

func (l *intOrList) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*l = intOrList{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("expected an integer or a list of integers, got %s", b)
	}
	*l = many
	return nil
}

// flexInt is an integer written as a number or a string of one ("15"),
// as Data Factory's SDKs write an interval.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", s)
		}
		*n = flexInt(v)
		return nil
	}
	var v int
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("expected an integer, got %s", b)
	}
	*n = flexInt(v)
	return nil
}

// recurrenceJSON is a ScheduleTrigger's typeProperties.recurrence.
type recurrenceJSON struct {
	Frequency string        `json:"frequency"`
	Interval  flexInt       `json:"interval"`
	StartTime string        `json:"startTime"`
	EndTime   string        `json:"endTime"`
	TimeZone  string        `json:"timeZone"`
	Schedule  *scheduleJSON `json:"schedule"`
}

type scheduleJSON struct {
	Minutes            intOrList            `json:"minutes"`
	Hours              intOrList            `json:"hours"`
	WeekDays           []string             `json:"weekDays"`
	MonthDays          intOrList            `json:"monthDays"`
	MonthlyOccurrences []trigger.Occurrence `json:"monthlyOccurrences"`
}

func (s *scheduleJSON) empty() bool {
	return s == nil || len(s.Minutes)+len(s.Hours)+len(s.WeekDays)+len(s.MonthDays)+len(s.MonthlyOccurrences) == 0
}

// adfFields names trigger.FieldError's fields as Data Factory's JSON does.
var adfFields = map[string]string{
	"frequency": "frequency", "interval": "interval", "start_time": "startTime", "end_time": "endTime",
	"time_zone": "timeZone", "schedule": "schedule", "schedule.hours": "schedule.hours",
	"schedule.minutes": "schedule.minutes", "schedule.week_days": "schedule.weekDays",
	"schedule.month_days": "schedule.monthDays", "schedule.monthly_occurrences": "schedule.monthlyOccurrences",
}

// adfWords rewrites the Azure ML field names trigger's messages use.
var adfWords = strings.NewReplacer("monthly_occurrences", "monthlyOccurrences", "month_days", "monthDays", "week_days", "weekDays")

// compileSchedule compiles a ScheduleTrigger's recurrence with package
// trigger. Where the schedule leaves out hours or minutes, Data Factory
// takes them from the start time, except that minutes alone fire every
// hour ({"minutes": [0, 30]} is every half hour).
func compileSchedule(raw json.RawMessage) (*trigger.Trigger, error) {
	var props struct {
		Recurrence *recurrenceJSON `json:"recurrence"`
	}
	if err := decodeProps(raw, &props); err != nil {
		return nil, err
	}
	const at = "typeProperties.recurrence"
	r := props.Recurrence
	switch {
	case r == nil:
		return nil, invalid(at, "required: frequency, interval, startTime and optionally endTime, timeZone and schedule")
	case r.StartTime == "":
		return nil, invalid(at+".startTime", "required: when the trigger starts (ISO 8601, in timeZone when it has no offset)")
	}
	def := trigger.Definition{Type: trigger.TypeRecurrence, Frequency: r.Frequency, Interval: int(r.Interval),
		StartTime: r.StartTime, EndTime: r.EndTime, TimeZone: r.TimeZone}
	if def.Interval == 0 {
		def.Interval = 1
	}
	if !r.Schedule.empty() {
		loc, err := trigger.LoadZone(r.TimeZone)
		if err != nil {
			return nil, invalid(at+".timeZone", "%s", adfWords.Replace(strings.ReplaceAll(err.Error(), "Azure ML", "Data Factory")))
		}
		start, err := trigger.ParseTime(r.StartTime, loc)
		if err != nil {
			return nil, invalid(at+".startTime", "%v", err)
		}
		start = start.In(loc)
		p := &trigger.Pattern{Hours: r.Schedule.Hours, Minutes: r.Schedule.Minutes, WeekDays: r.Schedule.WeekDays,
			MonthDays: r.Schedule.MonthDays, MonthlyOccurrences: r.Schedule.MonthlyOccurrences}
		switch {
		case len(p.Hours) == 0 && len(p.Minutes) > 0:
			p.Hours = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
		case len(p.Hours) == 0:
			p.Hours = []int{start.Hour()}
		}
		if len(p.Minutes) == 0 {
			p.Minutes = []int{start.Minute()}
		}
		def.Schedule = p
	}
	t, err := trigger.Compile(def, time.Time{})
	var fe *trigger.FieldError
	if errors.As(err, &fe) {
		field, ok := adfFields[fe.Field]
		if !ok {
			field = fe.Field
		}
		return nil, invalid(at+"."+field, "%s", adfWords.Replace(strings.ReplaceAll(fe.Msg, "Azure ML", "Data Factory")))
	}
	return t, err
}
