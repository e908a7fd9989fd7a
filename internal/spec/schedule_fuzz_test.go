package spec

import (
	"path/filepath"
	"testing"
)

// FuzzParseSchedule checks that no input makes ParseSchedule panic or
// return both a schedule and an error. The job files it may name are the
// test's own (testdata/command/job.yml and testdata/pipeline/pipeline.yml).
func FuzzParseSchedule(f *testing.F) {
	f.Add([]byte("name: s\ntrigger: {type: cron, expression: '0 * * * *', time_zone: Pacific Standard Time}\ncreate_job: ./command/job.yml\n"))
	f.Add([]byte("name: s\ntrigger: {type: recurrence, frequency: day, interval: 1, schedule: {hours: [4, 5], minutes: 0}}\n" +
		"create_job: {type: pipeline, job: ./pipeline/pipeline.yml, settings: {continue_on_step_failure: true}}\n"))
	f.Add([]byte("name: s\ntrigger: {type: recurrence, frequency: week, interval: 2, schedule: {hours: 1, minutes: [0], week_days: [monday]}, start_time: 2024-01-01, end_time: 2023-01-01}\n" +
		"create_job: {job: azureml:j, inputs: {x: '${{name}}-${{creation_context.trigger_time}}'}}\n"))
	f.Add([]byte("name: s\ntrigger: {type: cron, expression: 'TZ=x'}\ncreate_job: {job: [1]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchedule(filepath.Join("testdata", "fuzz.yml"), data, Options{})
		if (s == nil) == (err == nil) {
			t.Fatalf("ParseSchedule returned schedule %v and error %v", s != nil, err)
		}
	})
}
