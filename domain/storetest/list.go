package storetest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/vetfield/vetfield/domain"
)

// listFixture inserts a small herd: two owners, births with ties and gaps, some without a birth
// (a missing index field sorts first), and returns it by id.
func listFixture(t *testing.T, s domain.Store) map[string]animal {
	herd := map[string]animal{}
	add := func(id string, a animal) {
		mustInsert(t, s, "animals", id, nil, a)
		herd[id] = a
	}
	names := []string{"Айгерим", "Boz", "Alatau", "Qaraqat", "Zhuldyz", "Ақбоз"}
	for i := range 14 {
		b := born(int64(100 + i%7)) // ties on born, broken by name then id
		if i%6 == 5 {
			b = nil
		}
		add(fmt.Sprintf("o1-%02d", 13-i), animal{
			Tag: fmt.Sprintf("KZ%03d", (i*7)%17), Owner: "o1", Born: b, Name: names[i%len(names)], Alive: i%3 != 0,
		})
	}
	for i := range 3 {
		add(fmt.Sprintf("o2-%d", i), animal{Tag: fmt.Sprintf("KZ9%02d", i), Owner: "o2", Born: born(int64(200 - i)), Name: "x", Alive: true})
	}
	return herd
}

// cmpAny orders index values as both engines do for one type per field: missing first, then
// numbers, then strings (byte-wise), then booleans.
func cmpAny(a, b any) int {
	a, b = norm(a), norm(b)
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case int64:
			return 1
		case string:
			return 2
		default:
			return 3
		}
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch a := a.(type) {
	case int64:
		return cmp.Compare(a, b.(int64))
	case string:
		return cmp.Compare(a, b.(string))
	case bool:
		return cmp.Compare(btoi(a), btoi(b.(bool)))
	}
	return 0
}

// norm makes the test's untyped integers comparable with the fixture's int64s.
func norm(v any) any {
	if i, ok := v.(int); ok {
		return int64(i)
	}
	return v
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a animal) field(f string) any {
	switch f {
	case "tag":
		return a.Tag
	case "owner":
		return a.Owner
	case "born":
		if a.Born == nil {
			return nil
		}
		return *a.Born
	case "name":
		return a.Name
	case "alive":
		return a.Alive
	}
	panic(f)
}

// expect computes a query's answer from the fixture.
func expect(herd map[string]animal, fields []string, unique bool, q domain.Query) []string {
	var out []string
	n := len(q.Eq)
	for id, a := range herd {
		ok := true
		for i, v := range q.Eq {
			ok = ok && cmpAny(a.field(fields[i]), v) == 0
		}
		if ok && (q.From != nil || q.To != nil) {
			v := a.field(fields[n])
			ok = v != nil && (q.From == nil || cmpAny(v, q.From) >= 0) && (q.To == nil || cmpAny(v, q.To) < 0)
		}
		if ok {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(x, y string) int {
		for _, f := range fields[n:] {
			if c := cmpAny(herd[x].field(f), herd[y].field(f)); c != 0 {
				return c
			}
		}
		if unique {
			return 0
		}
		return cmp.Compare(x, y)
	})
	if q.Desc {
		slices.Reverse(out)
	}
	return out
}

func testList(t *testing.T, s domain.Store) {
	herd := listFixture(t, s)
	ob := []string{"owner", "born", "name"}
	cases := []struct {
		name   string
		fields []string
		unique bool
		q      domain.Query
	}{
		{"EqPrefix", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o2"}}},
		{"EqTwo", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1", 103}}},
		{"EqAll", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1", 101, "Boz"}}},
		{"EqMissing", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1", nil}}},
		{"Range", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1"}, From: int64(102), To: int64(105)}},
		{"RangeFrom", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1"}, From: 104}},
		{"RangeTo", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1"}, To: 102}},
		{"RangeDesc", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1"}, From: 102, To: 105, Desc: true}},
		{"RangeFirstField", ob, false, domain.Query{Index: "by_owner_born", From: "o1", To: "o2"}},
		{"Desc", ob, false, domain.Query{Index: "by_owner_born", Eq: []any{"o1"}, Desc: true}},
		{"WholeIndex", ob, false, domain.Query{Index: "by_owner_born"}},
		{"WholeIndexDesc", ob, false, domain.Query{Index: "by_owner_born", Desc: true}},
		{"Unique", []string{"tag"}, true, domain.Query{Index: "by_tag"}},
		{"UniqueDesc", []string{"tag"}, true, domain.Query{Index: "by_tag", Desc: true}},
		{"UniqueRange", []string{"tag"}, true, domain.Query{Index: "by_tag", From: "KZ005", To: "KZ012"}},
		{"Bool", []string{"alive", "tag"}, false, domain.Query{Index: "by_alive_tag", Eq: []any{true}}},
		{"BoolDesc", []string{"alive", "tag"}, false, domain.Query{Index: "by_alive_tag", Eq: []any{false}, Desc: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := expect(herd, c.fields, c.unique, c.q)
			if len(want) == 0 {
				t.Fatal("the fixture gives this query nothing to find")
			}
			// One page with the default limit, then pages of 1 and 5.
			page, err := s.List(t.Context(), "animals", c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := join(ids(page.Records)); got != join(want) || page.Next != "" {
				t.Fatalf("one page: got %s (next %q), want %s", got, page.Next, join(want))
			}
			for _, limit := range []int{1, 5} {
				q := c.q
				q.Limit = limit
				if got := join(ids(AllPages(t, s, "animals", q))); got != join(want) {
					t.Fatalf("pages of %d: got %s, want %s", limit, got, join(want))
				}
			}
		})
	}
	t.Run("NextOnlyWhenMore", func(t *testing.T) {
		want := expect(herd, ob, false, domain.Query{Eq: []any{"o2"}})
		p, err := s.List(t.Context(), "animals", domain.Query{Index: "by_owner_born", Eq: []any{"o2"}, Limit: len(want)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) != len(want) || p.Next != "" {
			t.Fatalf("exact fit: %d records, next %q", len(p.Records), p.Next)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		ctx := t.Context()
		first, err := s.List(ctx, "animals", domain.Query{Index: "by_owner_born", Limit: 2})
		if err != nil || first.Next == "" {
			t.Fatalf("first page: %v, next %q", err, first.Next)
		}
		b64 := base64.RawURLEncoding.EncodeToString
		for _, after := range []string{
			"!!not base64!!", b64([]byte("not json")), b64([]byte(`{"a":1}`)), b64([]byte(`["o1",1,"x"]`)), // too short
			b64([]byte(`["o1",1,"x","id",5]`)), b64([]byte(`["o1",1,"x",5]`)), b64([]byte(`[{},1,"x","id"]`)),
			first.Next + "x",
		} {
			_, err := s.List(ctx, "animals", domain.Query{Index: "by_owner_born", After: after})
			if !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("After %q: got %v, want EINVALID", after, err)
			}
		}
		for name, q := range map[string]domain.Query{
			"UnknownIndex":  {Index: "nope"},
			"NoIndex":       {},
			"TooManyEq":     {Index: "by_tag", Eq: []any{"a", "b"}},
			"RangeNoField":  {Index: "by_tag", Eq: []any{"a"}, From: "b"},
			"BadValue":      {Index: "by_owner_born", Eq: []any{[]string{"o1"}}},
			"FloatValue":    {Index: "by_owner_born", Eq: []any{"o1", 1.5}},
			"NegativeLimit": {Index: "by_tag", Limit: -1},
		} {
			_, err := s.List(ctx, "animals", q)
			if !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("%s: got %v, want EINVALID", name, err)
			}
		}
	})
}

// testListLimits checks the default page size and the clamp to MaxPageSize with a collection just
// over one default page.
func testListLimits(t *testing.T, s domain.Store) {
	n := domain.DefaultPageSize + 5
	for i := range n {
		mustInsert(t, s, "accounts", fmt.Sprintf("u%03d", i), nil, account{Login: fmt.Sprintf("l%03d", i), Org: "o", No: int64(i)})
	}
	p, err := s.List(t.Context(), "accounts", domain.Query{Index: "by_login"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != domain.DefaultPageSize || p.Next == "" {
		t.Fatalf("default page: %d records, next %q", len(p.Records), p.Next)
	}
	p, err = s.List(t.Context(), "accounts", domain.Query{Index: "by_login", After: p.Next})
	if err != nil || len(p.Records) != 5 || p.Next != "" {
		t.Fatalf("second page: %v, %d records, next %q", err, len(p.Records), p.Next)
	}
	p, err = s.List(t.Context(), "accounts", domain.Query{Index: "by_org_no", Eq: []any{"o"}, Limit: 5 * domain.MaxPageSize})
	if err != nil || len(p.Records) != n || p.Next != "" {
		t.Fatalf("limit over the maximum: %v, %d records, next %q", err, len(p.Records), p.Next)
	}
	for i, r := range p.Records {
		if want := fmt.Sprintf("u%03d", i); r.ID != want {
			t.Fatalf("record %d is %s, want %s", i, r.ID, want)
		}
	}
}
