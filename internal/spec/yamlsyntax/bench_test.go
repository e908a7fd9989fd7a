package yamlsyntax

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// BenchmarkLocate measures Locate on a 20,000-line file broken on its
// last line.
func BenchmarkLocate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("jobs:\n")
	for i := 0; i < 5000; i++ {
		sb.WriteString("  step" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ":\n    type: command\n    command: echo [a, b]\n    tags: {k: v}\n")
	}
	sb.WriteString("   bad: 1\n")
	data := []byte(sb.String())
	var n yaml.Node
	err := yaml.Unmarshal(data, &n)
	if err == nil {
		b.Fatal("the document parses")
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Locate(data, err)
	}
}
