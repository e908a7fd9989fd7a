package spec

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// str reads a scalar as the text written. null reads as "".
func (d *decoder) str(path string, v *yaml.Node) (string, bool) {
	v = d.resolve(v)
	if v.Kind != yaml.ScalarNode {
		d.errorf(v, path, "expected a string, got %s", describe(v))
		return "", false
	}
	if isNull(v) {
		return "", true
	}
	return v.Value, true
}

// boolean reads true or false.
func (d *decoder) boolean(path string, v *yaml.Node) (bool, bool) {
	v = d.resolve(v)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		d.errorf(v, path, "expected true or false, got %s", describe(v))
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		d.errorf(v, path, "expected true or false: %v", err)
		return false, false
	}
	return b, true
}

// integer reads a whole number that fits in 32 bits.
func (d *decoder) integer(path string, v *yaml.Node) (int, bool) {
	v = d.resolve(v)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		d.errorf(v, path, "expected an integer, got %s", describe(v))
		return 0, false
	}
	var i int64
	if err := v.Decode(&i); err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		d.errorf(v, path, "expected an integer, got %q", v.Value)
		return 0, false
	}
	return int(i), true
}

// number reads an integer or a decimal number.
func (d *decoder) number(path string, v *yaml.Node) (float64, bool) {
	v = d.resolve(v)
	tag := v.ShortTag()
	if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
		d.errorf(v, path, "expected a number, got %s", describe(v))
		return 0, false
	}
	var f float64
	if err := v.Decode(&f); err != nil {
		d.errorf(v, path, "expected a number, got %q", v.Value)
		return 0, false
	}
	return f, true
}

// stringMap reads a mapping of scalars (tags, environment variables) as
// strings; null values read as "".
func (d *decoder) stringMap(path string, v *yaml.Node) map[string]string {
	v = d.resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping of strings, got %s", describe(v))
		return nil
	}
	out := map[string]string{}
	for _, p := range d.pairs(v, path) {
		if s, ok := d.str(joinPath(path, p.name), p.val); ok {
			out[p.name] = s
		}
	}
	return out
}

// strInto returns a handler storing a scalar's text in dst.
func (d *decoder) strInto(dst *string) fieldFunc {
	return func(path string, v *yaml.Node) {
		if s, ok := d.str(path, v); ok {
			*dst = s
		}
	}
}

// nameInto returns a handler storing a name or version in dst after checking
// it against namePattern.
func (d *decoder) nameInto(dst *string) fieldFunc {
	return func(path string, v *yaml.Node) {
		s, ok := d.str(path, v)
		if !ok {
			return
		}
		if !namePattern.MatchString(s) {
			d.errorf(v, path, "invalid %q: expected letters, digits, '_', '.' or '-', starting with a letter or digit (at most 255)", s)
			return
		}
		*dst = s
	}
}

// boolPtrInto returns a handler storing true or false in dst.
func (d *decoder) boolPtrInto(dst **bool) fieldFunc {
	return func(path string, v *yaml.Node) {
		if b, ok := d.boolean(path, v); ok {
			*dst = &b
		}
	}
}

// nonNegativeInto returns a handler storing a whole number >= 0 in dst.
func (d *decoder) nonNegativeInto(dst *int) fieldFunc {
	return func(path string, v *yaml.Node) {
		i, ok := d.integer(path, v)
		if !ok {
			return
		}
		if i < 0 {
			d.errorf(v, path, "expected a number >= 0, got %d", i)
			return
		}
		*dst = i
	}
}

// mapInto returns a handler storing a mapping of strings in dst.
func (d *decoder) mapInto(dst *map[string]string) fieldFunc {
	return func(path string, v *yaml.Node) { *dst = d.stringMap(path, v) }
}

// scalarKind names the YAML kind of a literal scalar the way InputValue.Kind
// does: string, integer, number or boolean.
func scalarKind(v *yaml.Node) string {
	switch v.ShortTag() {
	case "!!int":
		return TypeInteger
	case "!!float":
		return TypeNumber
	case "!!bool":
		return TypeBoolean
	}
	return TypeString
}

// checkLiteral reports why text is not a valid value of the literal type typ
// (string, integer, number, boolean), or "" when it is.
func checkLiteral(typ, text string) string {
	switch typ {
	case TypeInteger:
		if _, err := strconv.ParseInt(text, 0, 64); err != nil {
			return "expected an integer, got " + strconv.Quote(text)
		}
	case TypeNumber:
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return "expected a number, got " + strconv.Quote(text)
		}
	case TypeBoolean:
		if _, err := strconv.ParseBool(text); err != nil {
			return "expected true or false, got " + strconv.Quote(text)
		}
	}
	return ""
}
