package expr

import (
	"bytes"
	"encoding/xml"
	"io"
	"sort"
	"strings"
)

// XML in ADF follows JSON.NET's conversions: an element is an object of its
// "@attributes", its children by name (repeated names become arrays) and
// its "#text"; an element with only text is that string; the XML
// declaration is a "?xml" property.

// fnXML is xml(): a string of XML (checked to be well formed), or a JSON
// object (or a string holding one) with exactly one root property, as an
// XML content value that string() and json() read back.
func fnXML(a []any) (any, error) {
	v := a[0]
	if b, ok := contentBytes(v); ok {
		v = string(trimBOM(b))
	}
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "<") {
			if _, err := xmlToJSON([]byte(t)); err != nil {
				return nil, err
			}
			return content(xmlType, []byte(s)), nil
		}
		parsed, err := parseJSON(t)
		if err != nil {
			return nil, errorf("expects XML or a JSON object: %v", err)
		}
		v = parsed
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf("expects XML or a JSON object, got a value of type '%s'", typeName(v))
	}
	roots := make([]string, 0, len(obj))
	for k := range obj {
		if k != "?xml" {
			roots = append(roots, k)
		}
	}
	if len(roots) != 1 {
		return nil, errorf("the JSON object must have exactly one root property to become XML, it has %d", len(roots))
	}
	if _, isArr := obj[roots[0]].([]any); isArr {
		return nil, errorf("the root property '%s' must not be an array to become XML", roots[0])
	}
	var b bytes.Buffer
	if err := writeXMLElement(&b, roots[0], obj[roots[0]], 0); err != nil {
		return nil, err
	}
	return content(xmlType, b.Bytes()), nil
}

// writeXMLElement writes v as the element name (several elements for an
// array).
func writeXMLElement(b *bytes.Buffer, name string, v any, depth int) error {
	if depth > maxDepth {
		return errorf("the JSON nests deeper than %d levels", maxDepth)
	}
	if !validXMLName(name) {
		return errorf("'%s' is not a valid XML element name", name)
	}
	switch t := norm(v).(type) {
	case []any:
		for _, item := range t {
			if err := writeXMLElement(b, name, item, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<" + name)
		for _, k := range keys {
			if attr, ok := strings.CutPrefix(k, "@"); ok {
				b.WriteString(" " + attr + `="`)
				xml.EscapeText(b, []byte(render(t[k])))
				b.WriteString(`"`)
			}
		}
		b.WriteString(">")
		for _, k := range keys {
			switch {
			case strings.HasPrefix(k, "@"):
			case k == "#text":
				xml.EscapeText(b, []byte(render(t[k])))
			default:
				if err := writeXMLElement(b, k, t[k], depth+1); err != nil {
					return err
				}
			}
		}
		b.WriteString("</" + name + ">")
	case nil:
		b.WriteString("<" + name + " />")
	default:
		b.WriteString("<" + name + ">")
		s := render(t)
		if bv, ok := t.(bool); ok {
			s = map[bool]string{true: "true", false: "false"}[bv]
		}
		xml.EscapeText(b, []byte(s))
		b.WriteString("</" + name + ">")
	}
	return nil
}

// validXMLName is a loose check that name can be an element name.
func validXMLName(name string) bool {
	if name == "" || strings.ContainsAny(name, " <>&\"'/=") {
		return false
	}
	c := name[0]
	return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// xmlNode is an element being read: its JSON object so far.
type xmlNode struct {
	name string
	obj  map[string]any
	text strings.Builder
}

// xmlToJSON converts an XML document to JSON as JSON.NET does.
func xmlToJSON(b []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(trimBOM(b)))
	doc := map[string]any{}
	var stack []*xmlNode
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errorf("the XML is not well formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" && len(stack) == 0 {
				doc["?xml"] = declaration(string(t.Inst))
			}
		case xml.StartElement:
			if len(stack) > maxDepth {
				return nil, errorf("the XML nests deeper than %d levels", maxDepth)
			}
			n := &xmlNode{name: qname(t.Name), obj: map[string]any{}}
			for _, at := range t.Attr {
				n.obj["@"+qname(at.Name)] = at.Value
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errorf("the XML is not well formed: unexpected </%s>", qname(t.Name))
			}
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			parent := doc
			if len(stack) > 0 {
				parent = stack[len(stack)-1].obj
			} else if len(doc) > 1 || (len(doc) == 1 && doc["?xml"] == nil) {
				return nil, errorf("the XML is not well formed: more than one root element")
			}
			addChild(parent, n.name, n.value())
		}
	}
	if len(stack) > 0 {
		return nil, errorf("the XML is not well formed: <%s> is not closed", stack[len(stack)-1].name)
	}
	if len(doc) == 0 || (len(doc) == 1 && doc["?xml"] != nil) {
		return nil, errorf("the XML has no root element")
	}
	return doc, nil
}

// value is the JSON of a finished element.
func (n *xmlNode) value() any {
	text := n.text.String()
	if strings.TrimSpace(text) == "" {
		text = ""
	}
	if len(n.obj) == 0 {
		if text == "" {
			return nil
		}
		return text
	}
	if text != "" {
		n.obj["#text"] = text
	}
	return n.obj
}

// addChild adds a child element's value under name, making an array when
// the name repeats.
func addChild(parent map[string]any, name string, v any) {
	prev, ok := parent[name]
	if !ok {
		parent[name] = v
		return
	}
	if arr, isArr := prev.([]any); isArr {
		parent[name] = append(arr, v)
		return
	}
	parent[name] = []any{prev, v}
}

// qname writes a name with its prefix, as written in the document.
func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// declaration reads the pseudo-attributes of <?xml ...?>.
func declaration(inst string) map[string]any {
	out := map[string]any{}
	d := xml.NewDecoder(strings.NewReader("<x " + inst + "/>"))
	if tok, err := d.Token(); err == nil {
		if st, ok := tok.(xml.StartElement); ok {
			for _, a := range st.Attr {
				out["@"+a.Name.Local] = a.Value
			}
		}
	}
	return out
}

// xmlEscape writes s escaped for an attribute value.
func xmlEscape(b *strings.Builder, s string) error {
	return xml.EscapeText(b, []byte(s))
}
