package expr

import (
	"bytes"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
)

func xpathFunctions() []*builtin {
	return []*builtin{{name: "xpath", min: 2, max: 2, impl: pure(fnXPath)}}
}

// fnXPath is xpath(xml, expression): a number, string or Boolean for an
// expression that computes one (sum(), string(), count() ...), else an
// array of the matching nodes: elements as XML content values (their
// outer XML, with the namespace they are in declared, as .NET writes it),
// attributes and text as strings.
func fnXPath(a []any) (any, error) {
	var doc []byte
	if b, ok := contentBytes(a[0]); ok {
		doc = trimBOM(b)
	} else if s, ok := a[0].(string); ok {
		doc = []byte(s)
	} else {
		return nil, errorf("expects XML for argument 1, got a value of type '%s'", typeName(a[0]))
	}
	path, err := stringArg(a, 1)
	if err != nil {
		return nil, err
	}
	if _, err := xmlToJSON(doc); err != nil {
		return nil, err
	}
	root, err := xmlquery.Parse(bytes.NewReader(doc))
	if err != nil {
		return nil, errorf("the XML is not well formed: %v", err)
	}
	compiled, err := xpath.Compile(path)
	if err != nil {
		return nil, errorf("'%s' is not a valid XPath expression: %v", clip(path), err)
	}
	switch r := compiled.Evaluate(xmlquery.CreateXPathNavigator(root)).(type) {
	case float64, string, bool:
		return r, nil
	case *xpath.NodeIterator:
		out := []any{}
		for r.MoveNext() {
			nav, ok := r.Current().(*xmlquery.NodeNavigator)
			if !ok {
				continue
			}
			switch nav.NodeType() {
			case xpath.ElementNode:
				out = append(out, content(xmlType, []byte(outerXML(nav.Current()))))
			default:
				out = append(out, nav.Value())
			}
		}
		return out, nil
	}
	return nil, errorf("the XPath expression '%s' gave no value", clip(path))
}

// outerXML writes an element and its content, declaring the namespace it
// is in when the declaration was on an ancestor.
func outerXML(n *xmlquery.Node) string {
	s := n.OutputXML(true)
	if n.NamespaceURI == "" {
		return s
	}
	attr := "xmlns"
	if n.Prefix != "" {
		attr += ":" + n.Prefix
	}
	for _, a := range n.Attr {
		name := a.Name.Local
		if a.Name.Space != "" {
			name = a.Name.Space + ":" + name
		}
		if name == attr {
			return s
		}
	}
	tag := "<" + n.Data
	if n.Prefix != "" {
		tag = "<" + n.Prefix + ":" + n.Data
	}
	rest, ok := strings.CutPrefix(s, tag)
	if !ok {
		return s
	}
	var b strings.Builder
	b.WriteString(tag + " " + attr + `="`)
	_ = xmlEscape(&b, n.NamespaceURI)
	b.WriteString(`"` + rest)
	return b.String()
}
