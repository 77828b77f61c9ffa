package documents

import "errors"

// Base45 (RFC 9285) writes bytes with the 45 characters of the QR code's alphanumeric mode, two
// bytes as three characters. The mode packs two characters in 11 bits, so a byte costs 8.25 bits
// of the code instead of the 8 of byte mode plus the 33 % that base64 adds: that is why the EU
// digital COVID certificate carries its payload so, and why the QR token does (see QRToken).
//
// The token's URL cannot hold the RFC's full alphabet: space, '%' and '/' would have to be
// percent-encoded, three characters each. URL45 is the same scheme over the RFC alphabet without
// those three; 42³ = 74088 still exceeds 65535, so two bytes still fit in three characters and the
// text is exactly as long as RFC 9285's.

const (
	base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	url45Alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*+-.:"
)

// errBase45 is the one answer to text that is not Base45: a character outside the alphabet, a
// length of 3k+1, or a group worth more than its bytes can hold.
var errBase45 = errors.New("not base45")

// base45Codec is Base45 over an alphabet of 41 to 45 characters.
type base45Codec struct {
	alphabet string
	value    [256]int8 // -1 for a byte outside the alphabet
}

func newBase45Codec(alphabet string) *base45Codec {
	c := &base45Codec{alphabet: alphabet}
	for i := range c.value {
		c.value[i] = -1
	}
	for i := range len(alphabet) {
		c.value[alphabet[i]] = int8(i)
	}
	return c
}

var (
	base45 = newBase45Codec(base45Alphabet)
	url45  = newBase45Codec(url45Alphabet)
)

// encode writes every two bytes as three digits of base n, least significant first, and a last
// odd byte as two.
func (c *base45Codec) encode(src []byte) string {
	n := len(c.alphabet)
	out := make([]byte, 0, len(src)/2*3+len(src)%2*2)
	for i := 0; i+1 < len(src); i += 2 {
		v := int(src[i])<<8 | int(src[i+1])
		out = append(out, c.alphabet[v%n], c.alphabet[v/n%n], c.alphabet[v/(n*n)])
	}
	if len(src)%2 == 1 {
		v := int(src[len(src)-1])
		out = append(out, c.alphabet[v%n], c.alphabet[v/n])
	}
	return string(out)
}

// decode reverses encode. It is strict, so every text decodes to at most one byte string and each
// byte string has exactly one text: a group above 65535 (or a last pair above 255) is refused.
func (c *base45Codec) decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45
	}
	n := len(c.alphabet)
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		end := min(i+3, len(s))
		v, place := 0, 1
		for j := i; j < end; j++ {
			d := c.value[s[j]]
			if d < 0 {
				return nil, errBase45
			}
			v += int(d) * place
			place *= n
		}
		if end-i == 3 {
			if v > 0xFFFF {
				return nil, errBase45
			}
			out = append(out, byte(v>>8), byte(v))
		} else {
			if v > 0xFF {
				return nil, errBase45
			}
			out = append(out, byte(v))
		}
	}
	return out, nil
}

// EncodeBase45 returns src as RFC 9285 Base45.
func EncodeBase45(src []byte) string { return base45.encode(src) }

// DecodeBase45 decodes RFC 9285 Base45, refusing any text that is not the encoding of some bytes.
func DecodeBase45(s string) ([]byte, error) { return base45.decode(s) }

// EncodeURL45 returns src in Base45 over the URL-safe alphabet (no space, '%' or '/').
func EncodeURL45(src []byte) string { return url45.encode(src) }

// DecodeURL45 reverses EncodeURL45.
func DecodeURL45(s string) ([]byte, error) { return url45.decode(s) }
