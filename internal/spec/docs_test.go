package spec

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExampleParses keeps the example in docs/spec.md valid.
func TestDocsExampleParses(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Example\n\n```toml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("docs/spec.md has no ```toml block under ## Example")
	}
	app, err := Parse("docs/spec.md", []byte(example))
	if err != nil {
		t.Fatalf("the example in docs/spec.md does not parse:\n%v", err)
	}
	if len(app.Checks) != 2 || app.Deploy.Strategy != StrategyBlueGreen {
		t.Errorf("docs example parsed as %+v", app)
	}
}
