package factory

import (
	"fmt"
	"strings"
	"unicode"
)

// The types ciel knows, in the order messages list them. A type outside
// these lists is refused where it enters, naming itself and the ones ciel
// can run, rather than accepted and failing at run time.
var (
	activityTypes = []string{
		"Copy", "Lookup", "GetMetadata", "Delete", "Script",
		"ForEach", "IfCondition", "Switch", "Until", "Filter", "Wait",
		"SetVariable", "AppendVariable", "ExecutePipeline", "Fail", "WebActivity",
		// SqlServerStoredProcedure is the gallery's "Delta copy from
		// Database" template's way to store the new watermark; ciel runs it
		// as a procedure call on the linked service's database.
		"SqlServerStoredProcedure",
		// ciel submits an Azure ML job file and waits for it; Azure's own
		// AzureMLExecutePipeline is taken as the same thing.
		"ciel", "AzureMLExecutePipeline",
	}
	// Sqlite is ciel's own linked service type (Data Factory has none):
	// typeProperties.path names the database file; its table datasets are
	// SqliteTable.
	linkedServiceTypes = []string{
		"PostgreSqlV2", "PostgreSql", "AzurePostgreSql",
		"MySql", "AzureMySql", "MariaDB", "Sqlite",
		"AzureBlobStorage", "AzureBlobFS", "AzureDataLakeStore", "FileServer",
		"AmazonS3", "AmazonS3Compatible",
		"HttpServer", "RestService",
		"AzureKeyVault",
	}
	datasetTypes = []string{
		"DelimitedText", "Json", "Parquet", "Binary",
		"PostgreSqlV2Table", "PostgreSqlTable", "AzurePostgreSqlTable",
		"MySqlTable", "AzureMySqlTable", "MariaDBTable",
		"AzureSqlTable", "SqliteTable",
		"RestResource",
	}
	triggerTypes = []string{"ScheduleTrigger", "TumblingWindowTrigger", "BlobEventsTrigger"}

	dependencyConditions = []string{DependSucceeded, DependFailed, DependCompleted, DependSkipped}
	// Parameter types as ADF's pipeline, dataset and linked service
	// parameters have them; variables have their own, fewer.
	paramTypes    = []string{"String", "Int", "Float", "Bool", "Array", "Object", "SecureString"}
	variableTypes = []string{"String", "Boolean", "Bool", "Integer", "Array"}
)

// ActivityTypes lists the activity types ciel runs.
func ActivityTypes() []string { return clone(activityTypes) }

// LinkedServiceTypes lists the linked service types ciel can reach.
func LinkedServiceTypes() []string { return clone(linkedServiceTypes) }

// DatasetTypes lists the dataset types ciel reads and writes.
func DatasetTypes() []string { return clone(datasetTypes) }

// TriggerTypes lists the trigger types ciel fires.
func TriggerTypes() []string { return clone(triggerTypes) }

func clone(s []string) []string { return append([]string(nil), s...) }

// checkType reports why typ is not one of known: empty, or unknown with
// a hint when only its case is wrong.
func checkType(what, typ string, known []string) error {
	if typ == "" {
		return fmt.Errorf("missing; expected a %s type: %s", what, strings.Join(known, ", "))
	}
	for _, k := range known {
		if k == typ {
			return nil
		}
	}
	for _, k := range known {
		if strings.EqualFold(k, typ) {
			return fmt.Errorf("unknown %s type %q; did you mean %q?", what, typ, k)
		}
	}
	return fmt.Errorf("unknown %s type %q; known: %s", what, typ, strings.Join(known, ", "))
}

// oneOfFold reports whether s is one of known without regard to case.
func oneOfFold(s string, known []string) bool {
	for _, k := range known {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// Names. Data Factory's rule for linked services, datasets, pipelines and
// triggers: start with a letter, digit or '_'; none of . + ? / < > * % & :
// \ (nor '#', which its REST API also refuses); no '-' in linked service
// and dataset names; at most 260 characters. ciel adds what makes a name
// safe as a key and a path segment: no control characters and no spaces at
// either end. Activity names follow the same character rule, at most 55
// characters, and may hold '-' and inner spaces ("Copy data1").
const (
	MaxResourceNameLen = 260
	MaxActivityNameLen = 55
	forbiddenNameChars = `.+?/<>*%&:\#`
)

// CheckName reports why name cannot name a resource of kind.
func CheckName(kind Kind, name string) error {
	if err := checkNameChars(name, MaxResourceNameLen); err != nil {
		return err
	}
	if r := rune(name[0]); !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
		return fmt.Errorf("invalid name %q: must start with a letter, a digit or '_'", name)
	}
	if (kind == KindLinkedService || kind == KindDataset) && strings.Contains(name, "-") {
		return fmt.Errorf("invalid name %q: Data Factory allows no '-' in %s names", name, kindNoun(kind))
	}
	return nil
}

// CheckActivityName reports why name cannot name an activity.
func CheckActivityName(name string) error {
	return checkNameChars(name, MaxActivityNameLen)
}

func checkNameChars(name string, max int) error {
	switch {
	case name == "":
		return fmt.Errorf("name is empty")
	case len([]rune(name)) > max:
		return fmt.Errorf("invalid name %q: longer than %d characters", name, max)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("invalid name %q: spaces at the start or end", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("invalid name %q: holds a control character", name)
	case strings.ContainsAny(name, forbiddenNameChars):
		return fmt.Errorf("invalid name %q: none of %s allowed", name, spaced(forbiddenNameChars))
	}
	return nil
}

func spaced(chars string) string {
	return strings.Join(strings.Split(chars, ""), " ")
}

func kindNoun(k Kind) string {
	switch k {
	case KindLinkedService:
		return "linked service"
	case KindDataset:
		return "dataset"
	case KindPipeline:
		return "pipeline"
	case KindTrigger:
		return "trigger"
	}
	return string(k)
}
