package tracking

// BucketQuery asks for a metric's history summarised for a chart.
type BucketQuery struct {
	// MaxPoints is the most buckets to return (> 0).
	MaxPoints int
	// StartStep and EndStep bound the steps summarised (inclusive; nil:
	// unbounded), so a zoomed chart gets finer buckets of its range.
	StartStep, EndStep *int64
}

// MetricBucket summarises the points of a metric's history whose steps
// fall in one range (or, when every point has the same step, whose
// timestamps do): how many, the exact least and greatest value, and the
// last point, which a line chart draws at (Step, Timestamp, Value).
type MetricBucket struct {
	// Step, Timestamp and Value are the bucket's last point, in (step,
	// timestamp) order. Value may be NaN or ±Inf.
	Step      int64
	Timestamp int64
	Value     float64
	// FirstStep and FirstTimestamp are the least step and time in it.
	FirstStep      int64
	FirstTimestamp int64
	// Min and Max are the least and greatest values, NaN left out; nil
	// when every value is NaN.
	Min, Max *float64
	// Count is the number of points in the bucket.
	Count int64
}
