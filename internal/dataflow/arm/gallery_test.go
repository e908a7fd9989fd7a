package arm

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// userMade are the linked services the gallery parameters files name,
// which a user creates before importing.
func userMade(kind factory.Kind, name string) bool {
	return kind == factory.KindLinkedService && (name == "pg_source" || name == "pg_control" || name == "lake")
}

func activitySummary(t *testing.T, acts []factory.Activity) []string {
	t.Helper()
	var out []string
	err := factory.Walk(acts, func(where string, a *factory.Activity) error {
		out = append(out, where+" "+a.Type+" "+a.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGalleryBulkCopy(t *testing.T) {
	t.Parallel()
	f, err := ImportFiles("testdata/gallery/bulk_copy_from_database.json", "testdata/gallery/bulk_copy_from_database.parameters.json", userMade)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LinkedServices) != 0 || len(f.Triggers) != 0 || len(f.Pipelines) != 1 || len(f.Datasets) != 3 {
		t.Fatalf("got %d linked services, %d datasets, %d pipelines, %d triggers", len(f.LinkedServices), len(f.Datasets), len(f.Pipelines), len(f.Triggers))
	}
	var ds []string
	for _, d := range f.Datasets {
		ds = append(ds, d.Name+" "+d.Type+" "+d.LinkedServiceName.ReferenceName)
	}
	wantDS := []string{"DataDestination Parquet lake", "DataSource PostgreSqlV2Table pg_source", "External_ControlTable PostgreSqlV2Table pg_control"}
	if !reflect.DeepEqual(ds, wantDS) {
		t.Errorf("datasets: got %q, want %q", ds, wantDS)
	}
	if p := f.Datasets[0].Parameters["table"]; p.Type != "String" {
		t.Errorf("DataDestination parameters (from an object parameter): %+v", f.Datasets[0].Parameters)
	}
	pl := f.Pipelines[0]
	if pl.Name != "BulkCopyfromDB_with_ControlTable" || pl.Parameters["Control_Table_Name"].Type != "String" {
		t.Errorf("pipeline %q parameters %+v", pl.Name, pl.Parameters)
	}
	want := []string{
		"[0] Lookup GetPartitionList",
		"[1] ForEach ForEachPartition",
		"[1].typeProperties.activities[0] Copy CopyOnePartition",
	}
	if got := activitySummary(t, pl.Activities); !reflect.DeepEqual(got, want) {
		t.Errorf("activities: got %q, want %q", got, want)
	}
	// Template expressions inside activities came out as their values;
	// Data Factory's expressions are left as written.
	nested, err := pl.Activities[1].Nested()
	if err != nil {
		t.Fatal(err)
	}
	var copyProps struct {
		Source map[string]any `json:"source"`
		Sink   map[string]any `json:"sink"`
	}
	if err := json.Unmarshal(nested[0].Activities[0].TypeProperties, &copyProps); err != nil {
		t.Fatal(err)
	}
	if copyProps.Source["type"] != "PostgreSqlV2Source" || copyProps.Sink["writeBatchSize"] != float64(10000) || copyProps.Sink["allowPolyBase"] != false {
		t.Errorf("copy typeProperties: %s", nested[0].Activities[0].TypeProperties)
	}
	out := nested[0].Activities[0].Outputs[0]
	if string(out.Parameters["table"]) != `{"type":"Expression","value":"@item().TABLE_NAME"}` {
		t.Errorf("copy output parameters: %s", out.Parameters["table"])
	}
	var lookup struct {
		Dataset factory.Reference `json:"dataset"`
	}
	if err := json.Unmarshal(pl.Activities[0].TypeProperties, &lookup); err != nil {
		t.Fatal(err)
	}
	if lookup.Dataset.ReferenceName != "External_ControlTable" || string(lookup.Dataset.Parameters["TableName"]) != `{"value":"@pipeline().parameters.Control_Table_Name","type":"Expression"}` {
		t.Errorf("lookup dataset: %+v", lookup.Dataset)
	}
}

func TestGalleryDeltaCopy(t *testing.T) {
	t.Parallel()
	f, err := ImportFiles("testdata/gallery/delta_copy_from_database.json", "testdata/gallery/delta_copy_from_database.parameters.json", userMade)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pipelines) != 1 || len(f.Datasets) != 3 {
		t.Fatalf("got %d datasets, %d pipelines", len(f.Datasets), len(f.Pipelines))
	}
	pl := f.Pipelines[0]
	want := []string{
		"[0] Lookup LookupLastWaterMark",
		"[1] Lookup LookupCurrentWaterMark",
		"[2] Copy DeltaCopyfromDB",
		"[3] SqlServerStoredProcedure UpdateWaterMark",
	}
	if got := activitySummary(t, pl.Activities); pl.Name != "DeltaCopyfromDB_using_ControlTable" || !reflect.DeepEqual(got, want) {
		t.Errorf("pipeline %q activities: got %q, want %q", pl.Name, got, want)
	}
	if d := pl.Activities[2].DependsOn; len(d) != 2 || d[0].Activity != "LookupCurrentWaterMark" || d[1].Activity != "LookupLastWaterMark" {
		t.Errorf("copy dependsOn: %+v", d)
	}
	if ls := pl.Activities[3].LinkedServiceName; ls == nil || ls.ReferenceName != "pg_control" {
		t.Errorf("stored procedure linked service: %+v", ls)
	}
	byName := map[string]*factory.Dataset{}
	for _, d := range f.Datasets {
		byName[d.Name] = d
	}
	if d := byName["DataSource"]; d == nil || d.Type != "PostgreSqlV2Table" || string(d.TypeProperties) != `{"schema":"public","table":"orders"}` {
		t.Errorf("DataSource: %+v", d)
	}
	if d := byName["External_ControlTable"]; d == nil || d.Type != "PostgreSqlV2Table" || d.LinkedServiceName.ReferenceName != "pg_control" {
		t.Errorf("External_ControlTable: %+v", d)
	}
	var src struct {
		Source map[string]any `json:"source"`
	}
	if err := json.Unmarshal(pl.Activities[0].TypeProperties, &src); err != nil {
		t.Fatal(err)
	}
	q, _ := src.Source["sqlReaderQuery"].(map[string]any)
	if src.Source["type"] != "PostgreSqlV2Source" || q["value"] != "select @{pipeline().parameters.Control_Table_Column_Name} as WatermarkValue from @{pipeline().parameters.Control_Table_Table_Name}" {
		t.Errorf("LookupLastWaterMark source: %v", src.Source)
	}
}

// Without the user's linked services, the import names what is missing.
func TestGalleryMissingLinkedService(t *testing.T) {
	t.Parallel()
	_, err := ImportFiles("testdata/gallery/delta_copy_from_database.json", "testdata/gallery/delta_copy_from_database.parameters.json", nil)
	// Each error sits at the "[parameters('...')]" that named the linked
	// service.
	want := `delta_copy_from_database.json:230:37: properties.linkedServiceName.referenceName: no linked service "pg_source"
delta_copy_from_database.json:250:37: properties.linkedServiceName.referenceName: no linked service "lake"
delta_copy_from_database.json:268:37: properties.linkedServiceName.referenceName: no linked service "pg_control"
delta_copy_from_database.json:210:45: properties.activities[3].linkedServiceName.referenceName: no linked service "pg_control"`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
