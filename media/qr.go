package media

import (
	"github.com/skip2/go-qrcode"

	"github.com/vetfield/vetfield/domain"
)

// QR code limits. Version 10 at level M holds 213 bytes in byte mode or 311 characters in
// alphanumeric mode; a print 25 mm wide of a version-10 code (57 modules with the quiet zone) gives
// modules of about 0.44 mm, which an ordinary phone camera still reads. A passport's URL, upper
// case with its token in URL45, needs version 8 (49 modules, 0.51 mm).
const (
	QRMaxVersion  = 10
	QRMinSize     = 256
	QRMaxSize     = 1024
	QRDefaultSize = 256
)

// QRCode renders content as a PNG of size×size pixels at error-correction level M. It refuses
// content that needs a version above QRMaxVersion, so every printed code stays scannable. The
// encoder picks the densest mode for each stretch of content, so content of upper case, digits and
// " $%*+-./:" alone is written in alphanumeric mode, 5.5 bits a character instead of 8 (the test
// pins this by the version it yields).
func QRCode(content string, size int) ([]byte, error) {
	if size < QRMinSize || size > QRMaxSize {
		return nil, domain.Invalid("query.size", "size is %d to %d pixels", QRMinSize, QRMaxSize)
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, domain.Internal("qr", err)
	}
	if q.VersionNumber > QRMaxVersion {
		return nil, domain.Errorf(domain.EINTERNAL, "the QR content needs version %d, above %d", q.VersionNumber, QRMaxVersion)
	}
	png, err := q.PNG(size)
	if err != nil {
		return nil, domain.Internal("qr png", err)
	}
	return png, nil
}
