package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/storetest"
)

// TestQueryPlans checks that List and GetBy are answered from the declared indexes: SQLite matches
// an expression index only against the identical expression, so a drift between the index
// definition and the query text would silently turn every list into a full scan.
func TestQueryPlans(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.Declare(ctx, storetest.Specs()...); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		data := fmt.Sprintf(`{"tag":"KZ%04d","owner":"o%d","born":%d,"name":"n%d","alive":%t}`, i, i%10, 1000+i%37, i%7, i%2 == 0)
		if _, err := s.Insert(ctx, "animals", domain.Record{ID: fmt.Sprint("a", i), Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.coll("animals")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.List(ctx, "animals", domain.Query{Index: "by_owner_born", Eq: []any{"o3"}, Limit: 3})
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %v", err)
	}
	firstTag, err := s.List(ctx, "animals", domain.Query{Index: "by_tag", Limit: 3})
	if err != nil || firstTag.Next == "" {
		t.Fatalf("first page: %v", err)
	}
	type plan struct {
		name  string
		query string
		args  []any
		index string
		want  string // the constraint SQLite must seek with
	}
	var plans []plan
	for _, tc := range []struct {
		q    domain.Query
		want string
	}{
		{domain.Query{Index: "by_owner_born", Eq: []any{"o3"}, From: 1005, To: 1020}, "(f_owner=? AND f_born>? AND f_born<?)"},
		{domain.Query{Index: "by_owner_born", Eq: []any{"o3"}, To: 1020}, "(f_owner=? AND f_born>? AND f_born<?)"},
		{domain.Query{Index: "by_owner_born", Eq: []any{"o3"}, After: first.Next}, "(f_owner=? AND (f_born,f_name,id)>(?,?,?))"},
		{domain.Query{Index: "by_owner_born", Eq: []any{"o3"}, After: first.Next, Desc: true}, "(f_owner=? AND (f_born,f_name,id)<(?,?,?))"},
		{domain.Query{Index: "by_owner_born", After: first.Next, Desc: true}, "((f_owner,f_born,f_name,id)<(?,?,?,?))"},
		{domain.Query{Index: "by_owner_born"}, ""}, // walks the index in order and stops after a page
		{domain.Query{Index: "by_tag", After: firstTag.Next}, "(f_tag>?)"},
		{domain.Query{Index: "by_tag", After: firstTag.Next, Desc: true}, "(f_tag<?)"},
		{domain.Query{Index: "by_alive_tag", Eq: []any{true}, From: "KZ0100"}, "(f_alive=? AND f_tag>?)"},
	} {
		query, args, x, _, err := listQuery(c, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{fmt.Sprintf("List %+v", tc.q), query, args, strings.Trim(x.sqlName, `"`), tc.want})
	}
	query, args, err := getByQuery(c, "by_tag", []any{"KZ0042"})
	if err != nil {
		t.Fatal(err)
	}
	plans = append(plans, plan{"GetBy by_tag", query, args, "c_animals:by_tag", "(f_tag=?)"})

	for _, p := range plans {
		rows, err := s.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+p.query, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		text := strings.Join(lines, "; ")
		if !strings.Contains(text, strings.TrimSpace("USING INDEX "+p.index+" "+p.want)) || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s\n  query: %s\n  plan:  %s", p.name, p.query, text)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "SCAN ") && !strings.Contains(l, "USING INDEX") {
				t.Errorf("%s scans the table: %s", p.name, text)
			}
		}
		t.Logf("%s: %s", p.name, text)
	}
}

// TestLogPlans checks that the reads of the change log by bucket, and compaction's read of one
// record's entries, seek their indexes: a scan would make a district's pull pay for the country.
func TestLogPlans(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []struct {
		query string
		args  []any
		want  []string
	}{
		{changesInSQL, []any{"t:3132", 0, 10}, []string{"SEARCH k USING PRIMARY KEY (bucket=? AND seq>?)", "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"}},
		{bucketsFirstSQL, []any{"t:31", "t:32"}, []string{"SEARCH change_keys USING PRIMARY KEY (bucket>? AND bucket<?)"}},
		{bucketAfterSQL, []any{"t:31", "t:32"}, []string{"SEARCH change_keys USING PRIMARY KEY (bucket>? AND bucket<?)"}},
		{recordLogSQL, []any{"animals", "a1"}, []string{"SEARCH c USING INDEX changes_record (coll=? AND id=?)"}},
	} {
		rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+p.query, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.query, err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		text := strings.Join(lines, "; ")
		for _, w := range p.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s\n  plan: %s\n  want: %s", p.query, text, w)
			}
		}
		if strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "SCAN ") {
			t.Errorf("%s scans or sorts: %s", p.query, text)
		}
	}
}
