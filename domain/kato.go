package domain

// Kato is a validated code of Kazakhstan's classifier of administrative-territorial units (KATO):
// nine digits, AA BB CC DDD — oblast, district or city, rural district, settlement. A group of
// zeros means the code stops above that level: 310000000 is Zhambyl oblast, and every unit inside
// it has a code starting with 31.
type Kato string

// KatoGroups are the end offsets of the code's levels.
var KatoGroups = [...]int{2, 4, 6, 9}

// ParseKato returns s as a Kato if it is nine digits and does not start with a zero group.
func ParseKato(s string) (Kato, error) {
	if len(s) != 9 {
		return "", Invalid("", "a KATO code has 9 digits, got %d characters", len(s))
	}
	for i := range 9 {
		if s[i] < '0' || s[i] > '9' {
			return "", Invalid("", "a KATO code has only digits")
		}
	}
	if s[:2] == "00" {
		return "", Invalid("", "a KATO code starts with its oblast")
	}
	return Kato(s), nil
}

// Prefix returns the significant part of the code: the groups up to the last non-zero one. Every
// unit beneath k has a code that starts with it.
func (k Kato) Prefix() string {
	end := 0
	start := 0
	for _, g := range KatoGroups {
		if g > len(k) {
			break
		}
		for i := start; i < g; i++ {
			if k[i] != '0' {
				end = g
				break
			}
		}
		start = g
	}
	return string(k[:end])
}

// Level is 1 for an oblast, 2 for a district or city, 3 for a rural district, 4 for a settlement.
func (k Kato) Level() int {
	p := len(k.Prefix())
	for i, g := range KatoGroups {
		if p <= g {
			return i + 1
		}
	}
	return len(KatoGroups)
}

// Covers reports whether other is k itself or lies beneath it. The empty Kato covers everything:
// it is the territory of the whole republic, held by national administrators.
func (k Kato) Covers(other Kato) bool {
	if k == "" {
		return true
	}
	p := k.Prefix()
	return len(other) == 9 && other[:len(p)] == Kato(p)
}

// Parent returns the code one level up, or "" for an oblast.
func (k Kato) Parent() Kato {
	p := k.Prefix()
	level := k.Level()
	if level <= 1 {
		return ""
	}
	cut := KatoGroups[level-2]
	parent := p[:cut] + "000000000"[cut:]
	return Kato(parent)
}
