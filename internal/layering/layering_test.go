package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/immp-mail/immp"

// moduleRoot is the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = up
	}
}

// imports reads the module's packages and their direct imports of other
// packages of the module, from non-test source files. Directories with
// their own go.mod (third_party) and testdata are other modules' or no
// packages.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	graph := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if within(p, module) && !slices.Contains(graph[pkg], p) {
				graph[pkg] = append(graph[pkg], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

// within reports whether package p is base or below it.
func within(p, base string) bool { return p == base || strings.HasPrefix(p, base+"/") }

// reach returns every package of the module that pkg imports, directly or
// not, each with the chain that leads to it.
func reach(graph map[string][]string, pkg string) map[string][]string {
	seen := map[string][]string{}
	var walk func(p string, chain []string)
	walk = func(p string, chain []string) {
		for _, q := range graph[p] {
			if _, ok := seen[q]; ok {
				continue
			}
			c := append(slices.Clone(chain), q)
			seen[q] = c
			walk(q, c)
		}
	}
	walk(pkg, []string{pkg})
	return seen
}

// rule: packages under any of from may not reach packages under any of
// banned.
type rule struct {
	why    string
	from   []string
	banned []string
}

var protocols = []string{"github.com/immp-mail/immp/smtp", "github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/immp", "github.com/immp-mail/immp/cmd", "github.com/immp-mail/immp/server", "github.com/immp-mail/immp/integration"}

var rules = []rule{
	{"storage and delivery import no protocol package",
		[]string{"github.com/immp-mail/immp/maildir", "github.com/immp-mail/immp/delivery"}, protocols},
	{"SMTP points down only", []string{"github.com/immp-mail/immp/smtp"}, []string{"github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/immp"}},
	{"IMAP points down only", []string{"github.com/immp-mail/immp/imap"}, []string{"github.com/immp-mail/immp/smtp", "github.com/immp-mail/immp/immp"}},
	{"IMMP points down only", []string{"github.com/immp-mail/immp/immp"}, []string{"github.com/immp-mail/immp/smtp", "github.com/immp-mail/immp/imap"}},
	{"the fallback client is a client",
		[]string{"github.com/immp-mail/immp/immp/fallback"}, []string{"github.com/immp-mail/immp/maildir", "github.com/immp-mail/immp/delivery", "github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/smtp"}},
	{"protocol packages do not assemble the server",
		[]string{"github.com/immp-mail/immp/smtp", "github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/immp"}, []string{"github.com/immp-mail/immp/server", "github.com/immp-mail/immp/cmd"}},
	{"foldername is a leaf", []string{"github.com/immp-mail/immp/internal/foldername"}, []string{module}},
}

// violations lists, for every rule, the chains that break it.
func violations(graph map[string][]string) []string {
	var out []string
	for _, r := range rules {
		for pkg := range graph {
			if !slices.ContainsFunc(r.from, func(f string) bool { return within(pkg, f) }) {
				continue
			}
			for dep, chain := range reach(graph, pkg) {
				// immp/immp is under "immp" as well: the leaf rule bans all.
				if slices.ContainsFunc(r.banned, func(b string) bool { return within(dep, b) }) {
					out = append(out, r.why+": "+strings.Join(chain, " -> "))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestLayering(t *testing.T) {
	graph := imports(t, moduleRoot(t))
	// The walk found the packages the rules are about.
	for _, p := range []string{"github.com/immp-mail/immp/maildir", "github.com/immp-mail/immp/delivery", "github.com/immp-mail/immp/delivery/guard", "github.com/immp-mail/immp/immp/fallback",
		"github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/immp", "github.com/immp-mail/immp/smtp", "github.com/immp-mail/immp/internal/foldername"} {
		if _, ok := graph[p]; !ok {
			t.Fatalf("package %s not found", p)
		}
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// TestRulesCatchViolations: each kind of wrong import, added to the real
// graph, is reported (directly and through a third package).
func TestRulesCatchViolations(t *testing.T) {
	graph := imports(t, moduleRoot(t))
	for _, bad := range [][2]string{
		{"github.com/immp-mail/immp/delivery", "github.com/immp-mail/immp/immp/guard"},
		{"github.com/immp-mail/immp/maildir", "github.com/immp-mail/immp/imap"},
		{"github.com/immp-mail/immp/delivery/guard", "github.com/immp-mail/immp/immp/wire"},
		{"github.com/immp-mail/immp/immp/fallback", "github.com/immp-mail/immp/maildir"},
		{"github.com/immp-mail/immp/internal/foldername", "github.com/immp-mail/immp/internal/metrics"},
		{"github.com/immp-mail/immp/imap", "github.com/immp-mail/immp/immp"},
	} {
		g := map[string][]string{}
		for k, v := range graph {
			g[k] = slices.Clone(v)
		}
		g[bad[0]] = append(g[bad[0]], bad[1])
		if len(violations(g)) == 0 {
			t.Errorf("%s importing %s is not reported", bad[0], bad[1])
		}
	}
	// A detour: maildir -> foldername -> immp/immp/wire.
	g := map[string][]string{}
	for k, v := range graph {
		g[k] = slices.Clone(v)
	}
	g["github.com/immp-mail/immp/internal/foldername"] = append(g["github.com/immp-mail/immp/internal/foldername"], "github.com/immp-mail/immp/immp/wire")
	found := false
	for _, v := range violations(g) {
		if strings.HasPrefix(v, "storage and delivery") && strings.Contains(v, "github.com/immp-mail/immp/maildir -> github.com/immp-mail/immp/internal/foldername -> github.com/immp-mail/immp/immp/wire") {
			found = true
		}
	}
	if !found {
		t.Error("an import through a third package is not reported")
	}
}
