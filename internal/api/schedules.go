package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// recentFirings is how many firings `schedule show` lists.
const recentFirings = 20

// scheduleRoutes adds job schedules (`az ml schedule`).
func (s *server) scheduleRoutes(h func(string, handlerFunc)) {
	const base = "/api/v1/workspaces/{ws}/schedules"
	h("POST "+base, s.createSchedule)
	h("GET "+base, s.listSchedules)
	h("GET "+base+"/{name}", s.getSchedule)
	h("DELETE "+base+"/{name}", s.deleteSchedule)
	h("POST "+base+"/{name}/enable", s.enableSchedule)
	h("POST "+base+"/{name}/disable", s.enableSchedule)
}

// schedulesFor checks the workspace of r and that the server runs
// schedules.
func (s *server) schedulesFor(r *http.Request) (*schedule.Service, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	if s.schedules == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "Unavailable", msg: "this server runs no schedules"}
	}
	return s.schedules, nil
}

// scheduleErr maps the service's errors to statuses.
func scheduleErr(r *http.Request, err error) error {
	var ie *schedule.InvalidError
	switch {
	case errors.As(err, &ie):
		return badRequest(ie.Field, "%s", ie.Error())
	case errors.Is(err, schedule.ErrEnabled):
		return &httpError{status: http.StatusConflict, code: "Conflict", target: "is_enabled", msg: err.Error()}
	case errors.Is(err, store.ErrNotFound) && r.PathValue("name") != "":
		return &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
			msg: fmt.Sprintf("schedule %q not found in workspace %s", r.PathValue("name"), r.PathValue("ws"))}
	}
	return err
}

func (s *server) createSchedule(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.schedulesFor(r)
	if err != nil {
		return nil, err
	}
	var def spec.Schedule
	if err := decode(r, &def); err != nil {
		return nil, err
	}
	sc, err := svc.Create(r.Context(), r.PathValue("ws"), &def)
	if err != nil {
		return nil, scheduleErr(r, err)
	}
	return created{scheduleView(sc, nil)}, nil
}

func (s *server) listSchedules(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.schedulesFor(r)
	if err != nil {
		return nil, err
	}
	list, err := svc.List(r.Context(), r.PathValue("ws"))
	if err != nil {
		return nil, err
	}
	return views(list, func(sc schedule.Schedule) client.Schedule { return scheduleView(sc, nil) }), nil
}

func (s *server) getSchedule(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.schedulesFor(r)
	if err != nil {
		return nil, err
	}
	if err := checkName("name", r.PathValue("name")); err != nil {
		return nil, err
	}
	sc, err := svc.Get(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, scheduleErr(r, err)
	}
	firings, err := svc.Firings(r.Context(), sc.Workspace, sc.Name, recentFirings)
	if err != nil {
		return nil, err
	}
	return scheduleView(sc, firings), nil
}

func (s *server) enableSchedule(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.schedulesFor(r)
	if err != nil {
		return nil, err
	}
	if err := checkName("name", r.PathValue("name")); err != nil {
		return nil, err
	}
	enable := strings.HasSuffix(r.URL.Path, "/enable")
	sc, err := svc.SetEnabled(r.Context(), r.PathValue("ws"), r.PathValue("name"), enable)
	if err != nil {
		return nil, scheduleErr(r, err)
	}
	return scheduleView(sc, nil), nil
}

func (s *server) deleteSchedule(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.schedulesFor(r)
	if err != nil {
		return nil, err
	}
	if err := checkName("name", r.PathValue("name")); err != nil {
		return nil, err
	}
	if err := svc.Delete(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, scheduleErr(r, err)
	}
	return map[string]string{"status": "deleted"}, nil
}

// scheduleView shapes a schedule like `az ml schedule show`, with ciel's
// next_run_time and, when given, the latest firings.
func scheduleView(sc schedule.Schedule, firings []schedule.Firing) client.Schedule {
	t := sc.Trigger
	v := client.Schedule{
		Name: sc.Name, DisplayName: sc.DisplayName, Description: sc.Description, Tags: sc.Tags, Properties: sc.Properties,
		ID: fmt.Sprintf("azureml:/workspaces/%s/schedules/%s", sc.Workspace, sc.Name),
		Trigger: client.ScheduleTrigger{Type: t.Type, Expression: t.Expression, Frequency: t.Frequency, Interval: t.Interval,
			StartTime: t.StartTime, EndTime: t.EndTime, TimeZone: t.TimeZone},
		CreateJob: jobDefinition(sc.Job), IsEnabled: sc.Enabled, ProvisioningState: "Succeeded",
		CreationContext: client.CreationContext{CreatedAt: sc.CreatedAt, CreatedBy: "local"},
	}
	if v.Trigger.TimeZone == "" {
		v.Trigger.TimeZone = "UTC"
	}
	if p := t.Schedule; p != nil {
		v.Trigger.Schedule = &client.RecurrencePattern{Hours: p.Hours, Minutes: p.Minutes, WeekDays: p.WeekDays, MonthDays: p.MonthDays}
	}
	if !sc.NextFire.IsZero() {
		next := sc.NextFire.UTC()
		v.NextRunTime = &next
	}
	for _, f := range firings {
		v.TriggeredJobs = append(v.TriggeredJobs, client.ScheduleFiring{TriggerTime: f.TriggerTime.UTC(),
			FiredAt: f.FiredAt.UTC().Truncate(time.Millisecond), Job: f.Job, Error: f.Error})
	}
	return v
}

// jobDefinition is the job a schedule submits as JSON, without the
// positions and file names the parser keeps.
func jobDefinition(j *spec.Job) map[string]any {
	b, err := json.Marshal(j)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	dropSourceInfo(m)
	return m
}

// dropSourceInfo removes "pos" and "file" keys at every depth.
func dropSourceInfo(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "pos")
		delete(x, "file")
		for _, c := range x {
			dropSourceInfo(c)
		}
	case []any:
		for _, c := range x {
			dropSourceInfo(c)
		}
	}
}
