package expr

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decode and evalValue are placeholders until the evaluator lands.
func decode(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func evalValue(v any, s *Scope) (any, error) { return nil, errors.New("expr: evaluator not built yet") }
