package activity

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestStoredProcedurePostgres runs the Delta copy template's
// UpdateWaterMark against real PostgreSQL: a procedure updating a
// watermark table, named SQL Server's way, parameters by name; then a
// function (SELECT), and the errors.
func TestStoredProcedurePostgres(t *testing.T) {
	ctx := context.Background()
	s := pgServer(t)
	s.exec(t, `CREATE TABLE watermarktable (TableName text, WatermarkValue timestamp);
		INSERT INTO watermarktable VALUES ('data_source_table', '2000-01-01');
		CREATE PROCEDURE usp_write_watermark(LastModifiedtime timestamp, TableName text) LANGUAGE sql AS $$
			UPDATE watermarktable SET WatermarkValue = LastModifiedtime WHERE watermarktable.TableName = usp_write_watermark.TableName $$;
		CREATE TABLE calls (n int);
		CREATE FUNCTION log_call(n int DEFAULT 7) RETURNS int LANGUAGE sql AS $$ INSERT INTO calls VALUES (n) RETURNING n $$;`)
	run, ok := For("SqlServerStoredProcedure")
	if !ok {
		t.Fatal("SqlServerStoredProcedure is not registered")
	}
	call := func(name string, params map[string]any) error {
		_, err := run(ctx, &Env{}, Call{Name: "UpdateWaterMark", Type: "SqlServerStoredProcedure", LinkedService: &s.ls,
			TypeProperties: map[string]any{"storedProcedureName": name, "storedProcedureParameters": params}})
		return err
	}
	err := call("[dbo].[usp_write_watermark]", map[string]any{
		"LastModifiedtime": map[string]any{"value": "2026-03-04T05:06:07Z", "type": "DateTime"},
		"TableName":        map[string]any{"value": "data_source_table", "type": "String"}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.query(t, `SELECT WatermarkValue FROM watermarktable`)
	if len(got) != 1 || !got[0][0].(time.Time).Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Fatalf("watermark %v", got)
	}
	// A value with quotes stays a value.
	if err := call("usp_write_watermark", map[string]any{"LastModifiedtime": map[string]any{"value": "2026-01-01"},
		"TableName": map[string]any{"value": "x'); DROP TABLE watermarktable; --"}}); err != nil {
		t.Fatal(err)
	}
	if got := s.query(t, `SELECT count(*) FROM watermarktable`); got[0][0] != int64(1) {
		t.Fatalf("watermark table: %v", got)
	}
	// A function, one argument given, then none (its default).
	if err := call("public.LOG_CALL", map[string]any{"@n": map[string]any{"value": float64(42), "type": "Int32"}}); err != nil {
		t.Fatal(err)
	}
	if err := call("log_call", nil); err != nil {
		t.Fatal(err)
	}
	if got := s.query(t, `SELECT n FROM calls ORDER BY n`); len(got) != 2 || got[0][0] != int32(7) || got[1][0] != int32(42) {
		t.Fatalf("calls %v", got)
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"no_such_proc", nil, "no procedure or function no_such_proc"},
		{"log_call", map[string]any{"m": map[string]any{"value": 1}}, `has no parameter "m"`},
		{"a.b.c", nil, "expected name or schema.name"},
		{"log_call", map[string]any{"n": "1"}, "expected {value, type}"},
	} {
		err := call(tc.name, tc.params)
		var ae *Error
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want an activity error with %q", tc.name, tc.params, err, tc.want)
		}
	}
}
