package paper

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

// The services write document content in their own packages; these tests read that code, so a
// key or an enumerated value a service starts writing fails here until the paper has words for it
// in both languages, instead of reaching a printed paper as a bare code.

// domainPkg is one parsed package of the domain.
type domainPkg struct {
	dir   string
	files map[string]*ast.File
	// structs are the package's struct types by name.
	structs map[string]*ast.StructType
}

func parseDomain(t *testing.T) []domainPkg {
	t.Helper()
	root := filepath.Join("..", "..", "domain")
	var pkgs []domainPkg
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		fset := token.NewFileSet()
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		p := domainPkg{dir: path, files: map[string]*ast.File{}, structs: map[string]*ast.StructType{}}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(path, e.Name()), nil, 0)
			if err != nil {
				return err
			}
			p.files[e.Name()] = f
			ast.Inspect(f, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						p.structs[ts.Name.Name] = st
					}
				}
				return true
			})
		}
		if len(p.files) > 0 {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// contentTypes are the struct types services pass as a Draft's Content, by package directory and
// the file of the Issue call. A new call site that passes anything but a map literal must be
// added here, so its keys are checked too.
var contentTypes = map[string]string{
	"identification/passport.go":   "passportContent",
	"identification/animal.go":     "passportContent",
	"epizootic/reference.go":       "referenceContent",
	"inspection/conclusion.go":     "ConclusionContent",
	"cases/engine.go":              "refusalContent",
	"registration/registration.go": "certificateContent",
	"licence/licence.go":           "licenceContent",
	"attestation/attestation.go":   "sheetContent",
}

// jsonKeys lists the JSON keys of struct st and, joined with dots, of the structs of its package
// beneath it.
func jsonKeys(p domainPkg, st *ast.StructType, prefix string, out map[string]bool) {
	for _, f := range st.Fields.List {
		name := ""
		if f.Tag != nil {
			tag, _ := strconv.Unquote(f.Tag.Value)
			name, _, _ = strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		}
		if name == "-" || len(f.Names) == 0 {
			continue
		}
		if name == "" {
			name = f.Names[0].Name
		}
		out[prefix+name] = true
		typ := f.Type
		for {
			switch x := typ.(type) {
			case *ast.ArrayType:
				typ = x.Elt
				continue
			case *ast.StarExpr:
				typ = x.X
				continue
			}
			break
		}
		if id, ok := typ.(*ast.Ident); ok {
			if sub, ok := p.structs[id.Name]; ok {
				jsonKeys(p, sub, prefix+name+".", out)
			}
		}
	}
}

// contentKeys finds every documents.Draft literal of the domain and returns the content keys its
// Content can hold.
func contentKeys(t *testing.T) map[string]bool {
	keys := map[string]bool{}
	sites := map[string]bool{}
	for _, p := range parseDomain(t) {
		rel, _ := filepath.Rel(filepath.Join("..", "..", "domain"), p.dir)
		for name, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok || !isDraft(lit.Type) {
					return true
				}
				for _, e := range lit.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok || !isIdent(kv.Key, "Content") {
						continue
					}
					site := rel + "/" + name
					if m, ok := kv.Value.(*ast.CompositeLit); ok {
						if _, isMap := m.Type.(*ast.MapType); isMap {
							for _, me := range m.Elts {
								if k, ok := me.(*ast.KeyValueExpr).Key.(*ast.BasicLit); ok {
									s, _ := strconv.Unquote(k.Value)
									keys[s] = true
								}
							}
							continue
						}
					}
					if rel == "documents" { // Issue copies the draft's content into the document
						continue
					}
					typ, ok := contentTypes[site]
					if !ok {
						t.Errorf("%s issues a document with content %T the test does not know: add its type to contentTypes", site, kv.Value)
						continue
					}
					sites[site] = true
					jsonKeys(p, p.structs[typ], "", keys)
				}
				return true
			})
		}
	}
	for site := range contentTypes {
		if !sites[site] {
			t.Errorf("no Draft with content in %s any more: update contentTypes", site)
		}
	}
	return keys
}

func isDraft(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Draft" && isIdent(sel.X, "documents")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestEveryContentKeyHasALabel reads every content key a service writes and checks the paper
// labels it in both languages.
func TestEveryContentKeyHasALabel(t *testing.T) {
	keys := contentKeys(t)
	if len(keys) < 40 {
		t.Fatalf("found only %d content keys; the test no longer reads the services: %v", len(keys), keys)
	}
	for k := range keys {
		if !Known(k) {
			t.Errorf("content key %q has no label on paper", k)
			continue
		}
		top, _, _ := strings.Cut(k, ".")
		if l := catalogue[top].label; l.KK == "" || l.RU == "" || l.KK == top {
			t.Errorf("content key %q has label %+v", k, l)
		}
	}
	for _, k := range order {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("order names %q, which the catalogue lacks", k)
		}
	}
	for k := range catalogue {
		if !keys[k] {
			t.Logf("the catalogue labels %q, which no service writes now", k)
		}
	}
}

// TestEveryEnumeratedValueIsTranslated reads the constants the services put into content (sex,
// purpose, means of identification, object kind, grounds, outcome, exam result, service, moment)
// and checks each has words in Kazakh and Russian.
func TestEveryEnumeratedValueIsTranslated(t *testing.T) {
	typed := map[string]string{"Sex": "sex", "ReferencePurpose": "purpose", "IDMeans": "id_means", "ObjectKind": "object_kind"}
	prefixed := map[string]string{"Ground": "state", "Outcome": "outcome", "Exam": "examination", "RefIssued": "result", "RefRefused": "result"}
	found := 0
	check := func(enum, value, where string) {
		found++
		tr, ok := enums[enum][value]
		if !ok || tr.KK == "" || tr.RU == "" {
			t.Errorf("%s: %s value %q has no translation", where, enum, value)
		}
	}
	for _, p := range parseDomain(t) {
		for name, f := range p.files {
			where := filepath.Join(p.dir, name)
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.ValueSpec:
					if len(x.Values) != 1 {
						return true
					}
					lit, ok := x.Values[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						return true
					}
					v, _ := strconv.Unquote(lit.Value)
					if id, ok := x.Type.(*ast.Ident); ok {
						if enum, ok := typed[id.Name]; ok {
							check(enum, v, where)
						}
						return true
					}
					for prefix, enum := range prefixed {
						if x.Type == nil && strings.HasPrefix(x.Names[0].Name, prefix) && strings.Contains(where, "domain/") &&
							(strings.Contains(where, "epizootic") || strings.Contains(where, "inspection")) {
							check(enum, v, where)
						}
					}
				case *ast.KeyValueExpr:
					// Service: "…" in a content struct, "service": "…" in a content map.
					lit, ok := x.Value.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						return true
					}
					k, _ := x.Key.(*ast.BasicLit)
					if isIdent(x.Key, "Service") || (k != nil && k.Value == `"service"`) {
						v, _ := strconv.Unquote(lit.Value)
						check("service", v, where)
					}
				case *ast.CompositeLit:
					// moment{"application", at}: the instants a reference is checked at.
					if isIdent(x.Type, "moment") && len(x.Elts) > 0 {
						if lit, ok := x.Elts[0].(*ast.BasicLit); ok {
							v, _ := strconv.Unquote(lit.Value)
							check("moment", v, where)
						}
					}
				}
				return true
			})
		}
	}
	if found < 30 {
		t.Fatalf("found only %d enumerated values; the test no longer reads the services", found)
	}
	for _, m := range domain.AllMeans {
		check("id_means", string(m), "domain.AllMeans")
	}
	for _, s := range domain.AllSpecies {
		if s.Name("kk") == string(s) || s.Name("ru") == string(s) {
			t.Errorf("species %s has no name", s)
		}
	}
	for _, k := range []epizootic.ProductKind{epizootic.ProductMeat, epizootic.ProductMilk, epizootic.ProductHides,
		epizootic.ProductWool, epizootic.ProductOffal, epizootic.ProductPoultry, epizootic.ProductEggs, epizootic.ProductHoney} {
		if !k.Valid() || k.Name("kk") == "" || k.Name("ru") == "" {
			t.Errorf("product kind %s has no name", k)
		}
	}
}
