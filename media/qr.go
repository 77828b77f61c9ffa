package media

import (
	"github.com/skip2/go-qrcode"

	"github.com/vetfield/vetfield/domain"
)

// QR code limits. Version 10 at level M holds 213 bytes; a print 25 mm wide of a version-10 code
// (57 modules) gives modules of about 0.44 mm, which an ordinary phone camera still reads.
const (
	QRMaxVersion  = 10
	QRMinSize     = 256
	QRMaxSize     = 1024
	QRDefaultSize = 256
)

// QRCode renders content as a PNG of size×size pixels at error-correction level M. It refuses
// content that needs a version above QRMaxVersion, so every printed code stays scannable.
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

// QRVersion returns the version content needs at level M.
func QRVersion(content string) (int, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return 0, err
	}
	return q.VersionNumber, nil
}
