package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// OIDs of the types decoded here.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidFloat4      = 700
	oidFloat8      = 701
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidUUID        = 2950
)

// typeOf maps a PostgreSQL type to an interim type, as Data Factory's
// PostgreSQL connector does; types it has no word for are strings.
func typeOf(oid uint32) tabular.Type {
	switch oid {
	case oidBool:
		return tabular.Boolean
	case oidInt2:
		return tabular.Int16
	case oidInt4:
		return tabular.Int32
	case oidInt8, oidOID:
		return tabular.Int64
	case oidFloat4:
		return tabular.Single
	case oidFloat8:
		return tabular.Double
	case oidNumeric:
		return tabular.Decimal
	case oidDate:
		return tabular.Date
	case oidTimestamp:
		return tabular.DateTime
	case oidTimestamptz:
		return tabular.DateTimeOffset
	case oidTime:
		return tabular.TimeSpan
	case oidUUID:
		return tabular.GUID
	case oidBytea:
		return tabular.ByteArray
	}
	return tabular.String
}

// binaryOIDs are read in the binary format (cheaper to decode than text);
// everything else comes as text.
var binaryOIDs = map[uint32]int16{
	oidBool: 1, oidBytea: 1, oidInt8: 1, oidInt2: 1, oidInt4: 1, oidFloat4: 1, oidFloat8: 1,
	oidDate: 1, oidTimestamp: 1, oidTimestamptz: 1,
}

// pgEpoch is PostgreSQL's zero for dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var errInfinity = errors.New("infinity has no interim value")

// decode turns a column's wire value into tabular's value. raw is nil for
// NULL; it is only valid until the next row, so bytes are copied.
func decode(oid uint32, format int16, raw []byte) (any, error) {
	if raw == nil {
		return nil, nil
	}
	if format == 1 {
		if _, ok := binaryOIDs[oid]; ok {
			return decodeBinary(oid, raw)
		}
	}
	return decodeText(oid, string(raw))
}

func decodeBinary(oid uint32, raw []byte) (any, error) {
	short := errors.New("short binary value")
	switch oid {
	case oidBool:
		if len(raw) != 1 {
			return nil, short
		}
		return raw[0] == 1, nil
	case oidInt2:
		if len(raw) != 2 {
			return nil, short
		}
		return int64(int16(binary.BigEndian.Uint16(raw))), nil
	case oidInt4:
		if len(raw) != 4 {
			return nil, short
		}
		return int64(int32(binary.BigEndian.Uint32(raw))), nil
	case oidInt8:
		if len(raw) != 8 {
			return nil, short
		}
		return int64(binary.BigEndian.Uint64(raw)), nil
	case oidFloat4:
		if len(raw) != 4 {
			return nil, short
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), nil
	case oidFloat8:
		if len(raw) != 8 {
			return nil, short
		}
		return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
	case oidDate:
		if len(raw) != 4 {
			return nil, short
		}
		d := int32(binary.BigEndian.Uint32(raw))
		if d == math.MaxInt32 || d == math.MinInt32 {
			return nil, errInfinity
		}
		return pgEpoch.AddDate(0, 0, int(d)), nil
	case oidTimestamp, oidTimestamptz:
		if len(raw) != 8 {
			return nil, short
		}
		us := int64(binary.BigEndian.Uint64(raw))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return nil, errInfinity
		}
		return pgEpoch.Add(time.Duration(us%86400000000)*time.Microsecond).AddDate(0, 0, int(us/86400000000)), nil
	case oidBytea:
		return append([]byte(nil), raw...), nil
	}
	return string(raw), nil
}

// decodeText reads the text format (the simple protocol's, a Script's),
// the session's time zone being UTC.
func decodeText(oid uint32, s string) (any, error) {
	switch oid {
	case oidBool:
		return s == "t", nil
	case oidInt2, oidInt4, oidInt8, oidOID:
		return strconv.ParseInt(s, 10, 64)
	case oidFloat4:
		f, err := strconv.ParseFloat(s, 32)
		return f, err
	case oidFloat8:
		return strconv.ParseFloat(s, 64)
	case oidDate:
		if strings.HasSuffix(s, "infinity") {
			return nil, errInfinity
		}
		return time.Parse("2006-01-02", s)
	case oidTimestamp:
		if strings.HasSuffix(s, "infinity") {
			return nil, errInfinity
		}
		return time.Parse("2006-01-02 15:04:05.999999", s)
	case oidTimestamptz:
		if strings.HasSuffix(s, "infinity") {
			return nil, errInfinity
		}
		for _, l := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00:00"} {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, errors.New("timestamptz " + strconv.Quote(s) + " not understood")
	case oidBytea:
		if strings.HasPrefix(s, `\x`) {
			return hex.DecodeString(s[2:])
		}
		return []byte(s), nil
	}
	return s, nil
}
