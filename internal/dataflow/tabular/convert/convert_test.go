package convert

import (
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

func TestConvert(t *testing.T) {
	day := time.Date(2026, 11, 1, 10, 20, 30, 0, time.UTC)
	noTrunc := &Settings{}
	boolNum := &Settings{AllowDataTruncation: true, TreatBooleanAsNumber: true}
	fmtd := &Settings{DateTimeFormat: "dd/MM/yyyy HH:mm"}
	for _, tc := range []struct {
		v        any
		from, to tabular.Type
		s        *Settings
		want     any
		err      bool
	}{
		{"42", tabular.String, tabular.Int32, nil, int64(42), false},
		{" 42 ", tabular.String, tabular.Int16, nil, int64(42), false},
		{"70000", tabular.String, tabular.Int16, nil, nil, true},
		{"x", tabular.String, tabular.Int64, nil, nil, true},
		{2.7, tabular.Double, tabular.Int32, nil, int64(2), false},
		{2.7, tabular.Double, tabular.Int32, noTrunc, nil, true},
		{"12.50", tabular.String, tabular.Decimal, nil, "12.50", false},
		{"1/2", tabular.String, tabular.Decimal, nil, nil, true},
		{true, tabular.Boolean, tabular.Int32, nil, nil, true},
		{true, tabular.Boolean, tabular.Int32, boolNum, int64(1), false},
		{"yes", tabular.String, tabular.Boolean, nil, true, false},
		{"2026-11-01 10:20:30", tabular.String, tabular.DateTime, nil, day, false},
		{"2026-11-01T10:20:30Z", tabular.String, tabular.DateTimeOffset, nil, day, false},
		{"01/11/2026 10:20", tabular.String, tabular.DateTime, fmtd, day.Add(-30 * time.Second), false},
		{day, tabular.DateTime, tabular.Date, nil, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false},
		{day, tabular.DateTime, tabular.String, nil, "2026-11-01 10:20:30", false},
		{day, tabular.DateTime, tabular.String, fmtd, "01/11/2026 10:20", false},
		{true, tabular.Boolean, tabular.String, nil, "True", false},
		{1.5, tabular.Double, tabular.String, nil, "1.5", false},
		{"{6F1C2B7E-1C9A-4C8E-9A3E-2F1D0B9C8A7E}", tabular.String, tabular.GUID, nil, "6f1c2b7e-1c9a-4c8e-9a3e-2f1d0b9c8a7e", false},
		{"nope", tabular.String, tabular.GUID, nil, nil, true},
		{nil, tabular.String, tabular.Int32, nil, nil, false},
	} {
		got, err := Convert(tc.v, tc.from, tc.to, tc.s)
		if (err != nil) != tc.err {
			t.Errorf("Convert(%v, %s, %s): err = %v, want error %v", tc.v, tc.from, tc.to, err, tc.err)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(tc.want.(time.Time)) {
				t.Errorf("Convert(%v, %s, %s) = %v, want %v", tc.v, tc.from, tc.to, got, tc.want)
			}
		} else if got != tc.want {
			t.Errorf("Convert(%v, %s, %s) = %#v, want %#v", tc.v, tc.from, tc.to, got, tc.want)
		}
	}
}

func FuzzConvert(f *testing.F) {
	for _, s := range []string{"42", "2026-11-01", "1e400", "-0.5", "true", "{x}"} {
		f.Add(s)
	}
	types := []tabular.Type{tabular.Int16, tabular.Int64, tabular.Double, tabular.Decimal, tabular.Boolean,
		tabular.DateTime, tabular.Date, tabular.GUID, tabular.TimeSpan, tabular.ByteArray, tabular.String}
	f.Fuzz(func(t *testing.T, s string) {
		for _, to := range types {
			v, err := Convert(s, tabular.String, to, nil)
			if err == nil && v == nil {
				t.Fatalf("Convert(%q, %s) = nil without error", s, to)
			}
		}
	})
}
