package domain

// IIN is a validated 12-digit individual (IIN) or business (BIN) identification number of
// Kazakhstan. Both share one check-digit algorithm, so one type serves owners of either kind.
type IIN string

// ParseIIN returns s as an IIN if it has 12 digits and a valid check digit.
//
// The official algorithm: weigh the first 11 digits by 1..11 and take the sum mod 11; if that is
// 10, weigh them again by 3..11,1,2; if it is 10 again the number is invalid. The result must equal
// the 12th digit.
func ParseIIN(s string) (IIN, error) {
	if len(s) != 12 {
		return "", Invalid("", "an IIN/BIN has 12 digits, got %d characters", len(s))
	}
	var d [12]int
	for i := range 12 {
		c := s[i]
		if c < '0' || c > '9' {
			return "", Invalid("", "an IIN/BIN has only digits")
		}
		d[i] = int(c - '0')
	}
	check := iinCheckDigit(d[:11])
	if check != d[11] {
		return "", Invalid("", "the IIN/BIN check digit is wrong")
	}
	return IIN(s), nil
}

// iinCheckDigit returns the check digit of the first 11 digits, or -1 when none exists.
func iinCheckDigit(d []int) int {
	sum := 0
	for i := range 11 {
		sum += d[i] * (i + 1)
	}
	if r := sum % 11; r != 10 {
		return r
	}
	sum = 0
	for i := range 11 {
		w := (i+2)%11 + 1 // 3, 4, …, 11, 1, 2
		sum += d[i] * w
	}
	if r := sum % 11; r != 10 {
		return r
	}
	return -1
}

// Masked hides all but the first two and last two digits, for public pages that must show no
// personal data beyond the paper.
func (n IIN) Masked() string {
	if len(n) != 12 {
		return ""
	}
	return string(n[:2]) + "********" + string(n[10:])
}
