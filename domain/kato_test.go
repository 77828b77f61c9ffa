package domain

import "testing"

func TestKato(t *testing.T) {
	const oblast, district, rural, settlement = "310000000", "314000000", "314030000", "314030100"
	tests := []struct {
		code   string
		prefix string
		level  int
		parent Kato
	}{
		{oblast, "31", 1, ""},
		{district, "3140", 2, oblast},
		{rural, "314030", 3, district},
		{settlement, "314030100", 4, rural},
	}
	for _, tt := range tests {
		k, err := ParseKato(tt.code)
		if err != nil {
			t.Fatalf("ParseKato(%q): %v", tt.code, err)
		}
		if got := k.Prefix(); got != tt.prefix {
			t.Errorf("%s.Prefix() = %q, want %q", k, got, tt.prefix)
		}
		if got := k.Level(); got != tt.level {
			t.Errorf("%s.Level() = %d, want %d", k, got, tt.level)
		}
		if got := k.Parent(); got != tt.parent {
			t.Errorf("%s.Parent() = %q, want %q", k, got, tt.parent)
		}
	}
	covers := []struct {
		a, b Kato
		want bool
	}{
		{oblast, settlement, true},
		{district, rural, true},
		{district, district, true},
		{rural, district, false},
		{district, "315000000", false},
		{oblast, "110000000", false},
		{"", settlement, true},
		{district, "", false},
	}
	for _, c := range covers {
		if got := c.a.Covers(c.b); got != c.want {
			t.Errorf("%q.Covers(%q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	for _, bad := range []string{"", "31000000", "3100000000", "000000000", "31000000x"} {
		if _, err := ParseKato(bad); !IsCode(err, EINVALID) {
			t.Errorf("ParseKato(%q) = %v, want EINVALID", bad, err)
		}
	}
}
