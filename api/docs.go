package api

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
)

// The /docs page is rendered on the server from the OpenAPI description, with no script or
// stylesheet from elsewhere: a district office on a LAN without internet still reads it.

type docParam struct{ Name, In, Type, Description string }

type docField struct {
	Name, Type, Description string
	Required                bool
	Depth                   int
}

type docOperation struct {
	Method, Path, Summary, Description, Who, Anchor string
	Params                                          []docParam
	Body                                            []docField
	Responses                                       []string
}

type docTag struct {
	Name string
	Ops  []docOperation
}

// docsPage renders the operations of the API, grouped by tag.
func (s *Server) docsPage(c *fiber.Ctx) error {
	oapi := s.api.OpenAPI()
	tags := map[string]*docTag{}
	var order []string
	paths := make([]string, 0, len(oapi.Paths))
	for p := range oapi.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := oapi.Paths[p]
		for _, mo := range []struct {
			method string
			op     *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
			if mo.op == nil || mo.op.Hidden {
				continue
			}
			tag := "other"
			if len(mo.op.Tags) > 0 {
				tag = mo.op.Tags[0]
			}
			if tags[tag] == nil {
				tags[tag] = &docTag{Name: tag}
				order = append(order, tag)
			}
			tags[tag].Ops = append(tags[tag].Ops, s.docOperation(oapi, mo.method, p, mo.op))
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return tagRank(order[i]) < tagRank(order[j]) })
	list := make([]*docTag, 0, len(order))
	for _, t := range order {
		list = append(list, tags[t])
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, "docs.html", map[string]any{
		"Title": oapi.Info.Title, "Version": oapi.Info.Version, "Description": oapi.Info.Description, "Tags": list,
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(buf.Bytes())
}

// tagOrder puts the groups in the order a newcomer reads them; others follow alphabetically.
var tagOrder = []string{"auth", "users", "holdings", "tag stock", "animals", "reissues", "documents", "verification",
	"territories", "epizootic", "references", "objects", "inspections", "photos", "uploads", "calendar", "sync"}

func tagRank(tag string) int {
	for i, t := range tagOrder {
		if strings.EqualFold(t, tag) {
			return i
		}
	}
	return len(tagOrder)
}

func (s *Server) docOperation(oapi *huma.OpenAPI, method, path string, op *huma.Operation) docOperation {
	d := docOperation{Method: method, Path: path, Summary: op.Summary, Description: op.Description,
		Anchor: op.OperationID, Who: "anyone, no login"}
	if rule, ok := op.Metadata[accessKey].(access); ok && !rule.public {
		d.Who = "any logged-in user"
		if len(rule.roles) > 0 {
			names := make([]string, len(rule.roles))
			for i, r := range rule.roles {
				names[i] = string(r)
			}
			d.Who = strings.Join(names, ", ")
		}
	}
	for _, p := range op.Parameters {
		d.Params = append(d.Params, docParam{Name: p.Name, In: p.In, Type: schemaType(oapi, p.Schema), Description: p.Description})
	}
	if op.RequestBody != nil {
		if mt := op.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
			d.Body = schemaFields(oapi, mt.Schema, 0, map[string]bool{})
		}
	}
	codes := make([]string, 0, len(op.Responses))
	for code := range op.Responses {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		desc := op.Responses[code].Description
		if status, err := strconv.Atoi(code); err == nil {
			desc = http.StatusText(status)
		}
		d.Responses = append(d.Responses, code+" "+desc)
	}
	return d
}

func resolve(oapi *huma.OpenAPI, s *huma.Schema) *huma.Schema {
	if s != nil && s.Ref != "" {
		if r := oapi.Components.Schemas.SchemaFromRef(s.Ref); r != nil {
			return r
		}
	}
	return s
}

func schemaType(oapi *huma.OpenAPI, s *huma.Schema) string {
	s = resolve(oapi, s)
	if s == nil {
		return ""
	}
	t := s.Type
	switch {
	case t == "array" && s.Items != nil:
		t = "array of " + schemaType(oapi, s.Items)
	case len(s.Enum) > 0:
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = fmt.Sprint(v)
		}
		t += " (" + strings.Join(vals, " | ") + ")"
	case s.Format != "":
		t += " (" + s.Format + ")"
	}
	return t
}

// schemaFields lists an object's fields, and those of objects inside it, two levels deep.
func schemaFields(oapi *huma.OpenAPI, s *huma.Schema, depth int, seen map[string]bool) []docField {
	s = resolve(oapi, s)
	if s == nil || depth > 2 {
		return nil
	}
	if s.Type == "array" && s.Items != nil {
		s = resolve(oapi, s.Items)
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []docField
	for _, n := range names {
		p := s.Properties[n]
		r := resolve(oapi, p)
		desc := ""
		if r != nil {
			desc = r.Description
		}
		if p.Description != "" {
			desc = p.Description
		}
		out = append(out, docField{Name: n, Type: schemaType(oapi, p), Description: desc, Required: required[n], Depth: depth})
		if r != nil && (r.Type == "object" || (r.Type == "array" && r.Items != nil)) && !seen[p.Ref] {
			next := map[string]bool{p.Ref: true}
			for k := range seen {
				next[k] = true
			}
			out = append(out, schemaFields(oapi, r, depth+1, next)...)
		}
	}
	return out
}
