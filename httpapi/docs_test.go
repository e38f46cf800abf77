package httpapi

import (
	"os"
	"strings"
	"testing"
)

// TestRoutesDocumented: every route is in docs/api.md and, with its
// method, in docs/openapi.yaml.
func TestRoutesDocumented(t *testing.T) {
	md, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	oa, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := &API{}
	for _, r := range a.routeList() {
		method, path, _ := strings.Cut(r.pattern, " ")
		if !strings.Contains(string(md), path) {
			t.Errorf("docs/api.md does not mention %s", path)
		}
		i := strings.Index(string(oa), "\n  "+path+":\n")
		if i < 0 {
			t.Errorf("docs/openapi.yaml has no path %s", path)
			continue
		}
		rest := string(oa)[i+len(path)+4:]
		if j := strings.Index(rest, "\n  /"); j >= 0 {
			rest = rest[:j]
		}
		if j := strings.Index(rest, "\ncomponents:"); j >= 0 {
			rest = rest[:j]
		}
		if !strings.Contains(rest, "\n    "+strings.ToLower(method)+":") {
			t.Errorf("docs/openapi.yaml: %s has no %s", path, method)
		}
	}
}
