package e2e

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/plan"
	"github.com/berth-dev/berth/internal/state"
)

// TestCLIDocJSONMatchesOutput renders status, history and events as JSON
// from a real daemon and compares their field names with the examples in
// docs/cli.md: every field the CLI printed must be in the doc's example, and
// every field of an example must be one the CLI's types can print.
func TestCLIDocJSONMatchesOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "jdoc", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)

	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) != 4 {
		t.Fatalf("docs/cli.md has %d json examples, want 4 (status, history, events, plan)", len(blocks))
	}
	tests := []struct {
		name string
		args []string
		typ  reflect.Type
	}{
		{"status", []string{"status", "--json"}, reflect.TypeFor[[]deploy.AppStatus]()},
		{"history", []string{"history", "jdoc", "--json"}, reflect.TypeFor[[]state.Deployment]()},
		{"events", []string{"events", "--json", "-n", "1"}, reflect.TypeFor[state.Event]()},
		{"plan", []string{"plan", "-f", e.write(a), "--json"}, reflect.TypeFor[plan.Plan]()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.berth(tt.args...)
			if r.code != 0 {
				t.Fatalf("berth %v: %s", tt.args, r)
			}
			if strings.Contains(r.stdout, "0001-01-01") {
				t.Errorf("a zero time is printed:\n%s", r.stdout)
			}
			got := map[string]bool{}
			for _, line := range jsonValues(t, r.stdout) {
				keyPaths(line, "", got)
			}
			want := map[string]bool{}
			keyPaths(jsonValues(t, string(blocks[i][1]))[0], "", want)
			typed := map[string]bool{}
			tagPaths(tt.typ, "", typed)
			for k := range got {
				if !want[k] {
					t.Errorf("berth %s printed %s, which docs/cli.md's example lacks", tt.name, k)
				}
			}
			for k := range want {
				if !typed[k] {
					t.Errorf("docs/cli.md's %s example has %s, which berth never prints (fields: %v)", tt.name, k, sorted(typed))
				}
			}
		})
	}
}

// jsonValues decodes one JSON value or JSON lines.
func jsonValues(t *testing.T, s string) []any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var out []any
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decoding %q: %v", s, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("no JSON in %q", s)
	}
	return out
}

// keyPaths records the path of every object key in v, like "[].instances[].pid".
func keyPaths(v any, at string, into map[string]bool) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			keyPaths(x, at+"[]", into)
		}
	case map[string]any:
		for k, x := range v {
			if strings.HasSuffix(at, ".numbers") || strings.HasSuffix(at, ".fields") || at == "numbers" || at == "fields" || at == "settings" {
				continue // free-form maps: their keys are data, not field names
			}
			p := strings.TrimPrefix(at+"."+k, ".")
			into[p] = true
			keyPaths(x, p, into)
		}
	}
}

// tagPaths records the JSON paths a value of type t can print.
func tagPaths(t reflect.Type, at string, into map[string]bool) {
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return
		}
		tagPaths(t.Elem(), at+"[]", into)
	case reflect.Pointer:
		tagPaths(t.Elem(), at, into)
	case reflect.Struct:
		if t == reflect.TypeFor[struct{}]() || t.PkgPath() == "time" {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				tagPaths(f.Type, at, into)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := strings.TrimPrefix(at+"."+name, ".")
			into[p] = true
			tagPaths(f.Type, p, into)
		}
	}
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestExitCodesAsDocumented runs the CLI against a real daemon and checks
// the exit codes docs/cli.md gives.
func TestExitCodesAsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(app{name: "codes", version: "v1", mode: "good", listen: freePort(t)})
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"rollback to an unknown release", []string{"rollback", "codes", "--to", "20990101T000000Z-000000"}, 6},
		{"rollback of an unknown app", []string{"rollback", "nope"}, 6},
		{"history of an unknown app", []string{"history", "nope"}, 6},
		{"status of an unknown app", []string{"status", "nope"}, 6},
		{"unknown flag", []string{"status", "--bogus"}, 2},
		{"missing argument", []string{"history"}, 2},
		{"too many arguments", []string{"status", "a", "b"}, 2},
		{"unknown command", []string{"bogus"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.berth(tt.args...); r.code != tt.code {
				t.Errorf("berth %v: exit %d, want %d: %s", tt.args, r.code, tt.code, r)
			}
		})
	}
}
