package media

import "bytes"

// sniffLen is how many leading bytes sniffPhoto needs to decide: the ISO base media file box
// header of a HEIC file ends at byte 12; JPEG and PNG tell sooner.
const sniffLen = 12

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// heifBrands are the major brands of an ISO base media file ("ftyp" box) that hold HEIC/HEIF
// still images. AVIF ("avif") shares the container but is not taken.
var heifBrands = map[string]string{
	"heic": "image/heic", "heix": "image/heic", "heim": "image/heic", "heis": "image/heic",
	"hevc": "image/heic", "hevx": "image/heic",
	"mif1": "image/heif", "msf1": "image/heif",
}

// sniffPhoto tells a photo's type from its first bytes, never from what the client said: JPEG
// (FF D8 FF), PNG (its 8-byte signature) or HEIC/HEIF (an "ftyp" box with a HEIF brand). It answers
// decided = false while head is shorter than it needs and more bytes are coming (complete = false);
// once decided, ct is "" for anything that is not one of them.
func sniffPhoto(head []byte, complete bool) (ct string, decided bool) {
	switch {
	case bytes.HasPrefix(head, jpegMagic):
		return "image/jpeg", true
	case bytes.HasPrefix(head, pngMagic):
		return "image/png", true
	case len(head) >= sniffLen && string(head[4:8]) == "ftyp":
		return heifBrands[string(head[8:12])], true
	case len(head) < sniffLen && !complete:
		return "", false
	}
	return "", true
}

// photoExt is the extension of a stored photo's key.
func photoExt(ct string) string {
	switch ct {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	}
	return "heic"
}
