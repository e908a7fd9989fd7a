// Package dataflow runs Azure Data Factory pipelines on ciel: linked
// services, datasets, pipelines of activities and triggers, in Data
// Factory's own JSON, against real databases and files.
//
// The work is split by what each part knows:
//
//   - factory: the resources (linked service, dataset, pipeline, activity,
//     trigger) as Data Factory's JSON has them, parsed with file:line:col
//     errors and validated; arm imports an ARM template of them.
//   - expr: Data Factory's expression language (@pipeline().parameters.x,
//     @{...} interpolation, every function), evaluated over JSON values.
//   - tabular: rows and schemas, the currency between sources and sinks.
//   - files: the file systems a dataset's location names (a datastore
//     folder, an S3-compatible bucket), read and written with a temporary
//     name renamed on success.
//   - connect: the databases and file formats (PostgreSQL, MariaDB/MySQL,
//     SQLite; DelimitedText, Json, Parquet, Binary) and the activities that
//     move data: Copy, Lookup, GetMetadata, Delete, Script.
//   - run: a pipeline run: dependencies, policies, control flow, variables,
//     activity runs recorded durably, cancel and rerun from failure.
//
// The service that keeps a factory's resources, fires its triggers and
// answers `ciel data-factory` lives in dataflow itself.
package dataflow
