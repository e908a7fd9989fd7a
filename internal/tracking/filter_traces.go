package tracking

// The search-traces grammar: MLflow's SearchTraceUtils without span,
// assessment, issue and full-text filters, which need the spans in the
// database (ciel keeps them only as artifacts) and are refused.

// Trace attributes that MLflow maps onto a tag or metadata key.
const (
	traceAttrName  = "name"   // the tag mlflow.traceName
	traceAttrRunID = "run_id" // metadata mlflow.sourceRun, or a run link
)

var traceGrammar = func() *grammar {
	attrs := keys("timestamp_ms", "execution_time_ms", "end_time_ms", "status", "client_request_id",
		traceAttrName, traceAttrRunID, "trace_id")
	attrs["request_id"] = "trace_id"
	attrs["timestamp"] = "timestamp_ms"
	attrs["execution_time"] = "execution_time_ms"
	attrs["end_time"] = "end_time_ms"
	return &grammar{what: "traces", kinds: []string{KindTag, KindMetadata},
		attributes: attrs,
		numeric:    map[string]bool{"timestamp_ms": true, "execution_time_ms": true, "end_time_ms": true},
		listKeys: map[string]bool{traceAttrName: true, "status": true, "trace_id": true, traceAttrRunID: true,
			"client_request_id": true},
		tagOps: keyOps,
		orderAttrs: keySet("experiment_id", "timestamp_ms", "execution_time_ms", "end_time_ms", "status", "trace_id",
			traceAttrName, traceAttrRunID),
		entities: map[string]string{"trace": KindAttribute, "metadata": KindMetadata, "request_metadata": KindMetadata},
	}
}()

// ParseTraceFilter parses a search-traces filter, such as
// "tags.env = 'prod' AND metadata.`mlflow.sourceRun` = 'abc' AND
// trace.timestamp_ms > 1700000000000". The attribute name becomes the tag
// mlflow.traceName; run_id stays an attribute, since a trace belongs to a
// run by its metadata or by a link. Errors are *Error with
// CodeInvalidParameterValue.
func ParseTraceFilter(s string) ([]Clause, error) {
	cs, err := traceGrammar.parseFilter(s)
	for i, c := range cs {
		if c.Kind == KindAttribute && c.Key == traceAttrName {
			cs[i].Kind, cs[i].Key = KindTag, TagTraceName
		}
	}
	return cs, err
}

// ParseTraceOrderBy parses one search-traces order_by item, e.g.
// "timestamp_ms DESC"; name orders by the tag mlflow.traceName and run_id
// by the metadata mlflow.sourceRun.
func ParseTraceOrderBy(s string) (OrderBy, error) {
	o, err := traceGrammar.parseOrderBy(s)
	if o.Kind == KindAttribute {
		switch o.Key {
		case traceAttrName:
			o.Kind, o.Key = KindTag, TagTraceName
		case traceAttrRunID:
			o.Kind, o.Key = KindMetadata, MetaSourceRun
		}
	}
	return o, err
}
