package dataflow

import (
	"slices"
	"strings"
)

// LinkedServiceTypes are the linked service types ciel reaches, by what it
// maps each to: a database on this machine or another, a datastore, a
// local folder or an S3-compatible bucket, a loopback HTTP service, ciel's
// own secret store (AzureKeyVault) and its own workspace (AzureMLService).
// Any other type is refused at create, since no activity could use it.
var linkedServiceTypes = []string{
	"PostgreSqlV2", "PostgreSql", "AzurePostgreSql",
	"MySql", "AzureMySql", "MariaDB",
	"SQLite",
	"AzureBlobStorage", "AzureBlobFS", "AzureDataLakeStore", "FileServer", "AmazonS3", "AmazonS3Compatible",
	"HttpServer", "RestService",
	"AzureKeyVault",
	"AzureMLService",
}

// LinkedServiceTypes returns the linked service types ciel can reach.
func LinkedServiceTypes() []string { return slices.Clone(linkedServiceTypes) }

// linkedServiceType returns the supported type typ names, matched
// case-insensitively as ADF does; false when ciel cannot reach it.
func linkedServiceType(typ string) (string, bool) {
	for _, t := range linkedServiceTypes {
		if strings.EqualFold(t, typ) {
			return t, true
		}
	}
	return "", false
}

// sortedCopy returns names sorted, leaving the argument as it was.
func sortedCopy(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}
