package client

import (
	"context"
	"net/http"
	"time"
)

// Schedule is a job schedule as the API shows it, shaped like
// `az ml schedule show`, plus what ciel adds: the next time it fires and,
// from GetSchedule, its latest firings.
type Schedule struct {
	Name              string            `json:"name"`
	ID                string            `json:"id,omitempty"`
	DisplayName       string            `json:"display_name,omitempty"`
	Description       string            `json:"description,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	Properties        map[string]string `json:"properties,omitempty"`
	Trigger           ScheduleTrigger   `json:"trigger"`
	CreateJob         map[string]any    `json:"create_job"` // the job each firing submits
	IsEnabled         bool              `json:"is_enabled"`
	ProvisioningState string            `json:"provisioning_state"`
	CreationContext   CreationContext   `json:"creation_context"`
	NextRunTime       *time.Time        `json:"next_run_time,omitempty"` // none when disabled or ended
	TriggeredJobs     []ScheduleFiring  `json:"triggered_jobs,omitempty"`
}

// ScheduleTrigger is a schedule's trigger: a cron expression or a
// recurrence, in a Windows time zone.
type ScheduleTrigger struct {
	Type       string             `json:"type"`
	Expression string             `json:"expression,omitempty"`
	Frequency  string             `json:"frequency,omitempty"`
	Interval   int                `json:"interval,omitempty"`
	Schedule   *RecurrencePattern `json:"schedule,omitempty"`
	StartTime  string             `json:"start_time,omitempty"`
	EndTime    string             `json:"end_time,omitempty"`
	TimeZone   string             `json:"time_zone,omitempty"`
}

// RecurrencePattern narrows a recurrence to hours, minutes and days.
type RecurrencePattern struct {
	Hours     []int    `json:"hours,omitempty"`
	Minutes   []int    `json:"minutes,omitempty"`
	WeekDays  []string `json:"week_days,omitempty"`
	MonthDays []int    `json:"month_days,omitempty"`
}

// ScheduleFiring is one time a schedule fired: the job it submitted, or
// why it could not.
type ScheduleFiring struct {
	TriggerTime time.Time `json:"trigger_time"`
	FiredAt     time.Time `json:"fired_at"`
	Job         string    `json:"job,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// CreateSchedule creates a schedule, or replaces the one of its name, from
// a spec.Schedule whose job's local paths were uploaded.
func (c *Client) CreateSchedule(ctx context.Context, ws string, schedule any) (Schedule, error) {
	var out Schedule
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "schedules"), schedule, &out)
	return out, err
}

// GetSchedule returns a schedule with its latest firings.
func (c *Client) GetSchedule(ctx context.Context, ws, name string) (Schedule, error) {
	var out Schedule
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "schedules", name), nil, &out)
	return out, err
}

// ListSchedules lists a workspace's schedules by name.
func (c *Client) ListSchedules(ctx context.Context, ws string) ([]Schedule, error) {
	var out []Schedule
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "schedules"), nil, &out)
	return out, err
}

// SetScheduleEnabled enables or disables a schedule.
func (c *Client) SetScheduleEnabled(ctx context.Context, ws, name string, enabled bool) (Schedule, error) {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	var out Schedule
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "schedules", name, verb), nil, &out)
	return out, err
}

// DeleteSchedule deletes a disabled schedule (not the jobs it started).
func (c *Client) DeleteSchedule(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "schedules", name), nil, nil)
}
