package expr

import "testing"

// XML: xml(), json() of XML, xpath() with the reference's examples.
func TestXMLFunctions(t *testing.T) {
	produce := `<?xml version="1.0"?><produce><item><name>Gala</name><type>apple</type><count>20</count></item><item><name>Honeycrisp</name><type>apple</type><count>10</count></item></produce>`
	runEval(t, []evalCase{
		{`@string(xml(json('{ "name": "Sophia Owen" }')))`, `"<name>Sophia Owen</name>"`},
		{`@string(xml(json('{"person": {"name": "Sophia Owen", "city": "Seattle"}}')))`, `"<person><city>Seattle</city><name>Sophia Owen</name></person>"`},
		{`@string(xml('{"a": {"@id": "1", "#text": "x<y"}}'))`, `"<a id=\"1\">x&lt;y</a>"`},
		{`@string(xml('{"r": {"i": [1, 2], "n": null, "b": true}}'))`, `"<r><b>true</b><i>1</i><i>2</i><n /></r>"`},
		{`@xml('<a>1</a>')`, `{"$content":"PGE+MTwvYT4=","$content-type":"application/xml;charset=utf-8"}`},
		{`@json(xml('<?xml version="1.0"?> <root> <person id=''1''> <name>Sophia Owen</name> <occupation>Engineer</occupation> </person> </root>'))`,
			`{"?xml":{"@version":"1.0"},"root":{"person":{"@id":"1","name":"Sophia Owen","occupation":"Engineer"}}}`},
		{`@json('<r><i>1</i><i>2</i><e/></r>')`, `{"r":{"e":null,"i":["1","2"]}}`},
		{`@xpath(xml('` + produce + `'), 'sum(/produce/item/count)')`, `30.0`},
		{`@xpath(xml('` + produce + `'), 'count(//item)')`, `2.0`},
		{`@xpath(xml('` + produce + `'), 'string(/produce/item[2]/name)')`, `"Honeycrisp"`},
		{`@xpath(xml('` + produce + `'), 'boolean(//item[count > 15])')`, `true`},
		{`@xpath(xml('` + produce + `'), '/produce/item/name/text()')`, `["Gala","Honeycrisp"]`},
		{`@string(xpath(xml('` + produce + `'), '/produce/item/name')[1])`, `"<name>Honeycrisp</name>"`},
		{`@length(xpath(xml('` + produce + `'), '//nothing'))`, `0`},
		{`@string(xpath(xml(variables('xml')), '/*[name()="file"]/*[name()="location"]')[0])`, `"<location xmlns=\"https://contoso.com\">Paris</location>"`},
		{`@string(xpath(xml(variables('xml')), '/*[local-name()="file" and namespace-uri()="https://contoso.com"]/*[local-name()="location"]')[0])`, `"<location xmlns=\"https://contoso.com\">Paris</location>"`},
		{`@xpath(xml(variables('xml')), 'string(/*[name()="file"]/*[name()="location"])')`, `"Paris"`},
		{`@concat(xpath(xml(variables('xml')), 'string(//*[local-name()="location"])'), string(length(xpath(xml(variables('xml')), '//*[local-name()="location"]'))))`, `"Paris1"`},
	})
	runErrors(t, testScope(), []errCase{
		{`@xml('<a>')`, "the XML is not well formed", 2},
		{`@xml('{"a": 1, "b": 2}')`, "exactly one root property", 2},
		{`@xml('{"a": [1]}')`, "must not be an array", 2},
		{`@xml(1)`, "expects XML or a JSON object", 2},
		{`@json('<a><b></a>')`, "not well formed", 2},
		{`@xpath(xml('<a/>'), '///')`, "is not a valid XPath expression", 2},
		{`@xpath(1, '/a')`, "expects XML for argument 1", 2},
	})
}
