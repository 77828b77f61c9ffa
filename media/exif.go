package media

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// A small EXIF reader: enough to learn when and where a photo was taken and how it is turned, from
// the first bytes of a JPEG (the APP1 "Exif" segment) or a PNG (the eXIf chunk). It is written here
// rather than taken from a library because it needs five tags, and because it reads untrusted bytes
// on every upload: every offset is checked against the slice, every count is bounded, and a
// malformed block yields "no EXIF", never a panic (FuzzParseExif holds it to that). HEIC keeps its
// EXIF in an item of the ISO base media file's meta box; reading that is not done, so HEIC photos
// carry only the tablet's own position and time.

// exifHeadLen is how much of a photo's start the reader is given: an APP1 segment is at most 64 KiB
// and comes first, after at most a JFIF APP0.
const exifHeadLen = 256 << 10

// EXIF tags used.
const (
	tagOrientation  = 0x0112
	tagDateTime     = 0x0132
	tagExifIFD      = 0x8769
	tagGPSIFD       = 0x8825
	tagDateOriginal = 0x9003
	tagOffsetOrig   = 0x9011
	tagGPSLatRef    = 0x0001
	tagGPSLat       = 0x0002
	tagGPSLonRef    = 0x0003
	tagGPSLon       = 0x0004
	tagGPSTime      = 0x0007
	tagGPSDate      = 0x001D
)

// maxIFDEntries bounds one directory; real files have a few dozen.
const maxIFDEntries = 512

// readExif returns what the EXIF block at the start of a photo of type ct says, or nil when there
// is none or it does not parse.
func readExif(head []byte, ct string) *inspection.PhotoExif {
	var tiff []byte
	switch ct {
	case "image/jpeg":
		tiff = jpegExif(head)
	case "image/png":
		tiff = pngExif(head)
	}
	if tiff == nil {
		return nil
	}
	return parseTIFF(tiff)
}

// jpegExif finds the TIFF block of the APP1 Exif segment among the segments before the image data.
func jpegExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return nil
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // markers with no length
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // the image data starts, or the file ends: no EXIF before it
			return nil
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngExif finds the eXIf chunk among the chunks before the image data.
func pngExif(b []byte) []byte {
	if !bytes.HasPrefix(b, pngMagic) {
		return nil
	}
	for i := len(pngMagic); i+8 <= len(b); {
		n := binary.BigEndian.Uint32(b[i:])
		typ := string(b[i+4 : i+8])
		if uint64(n) > uint64(len(b)-i-8) {
			return nil
		}
		switch typ {
		case "eXIf":
			return b[i+8 : i+8+int(n)]
		case "IDAT", "IEND":
			return nil
		}
		i += 12 + int(n) // length, type, data, CRC
	}
	return nil
}

// tiffReader reads IFD entries of one TIFF block.
type tiffReader struct {
	b  []byte
	bo binary.ByteOrder
}

// ifdEntry is one directory entry with its value bytes.
type ifdEntry struct {
	typ   uint16
	count uint32
	val   []byte
}

// typeSize is the size of one value of each TIFF type used.
var typeSize = map[uint16]uint32{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}

// ifd reads the directory at off into a map by tag; a broken directory gives what was read before
// the break.
func (t tiffReader) ifd(off uint32) map[uint16]ifdEntry {
	out := map[uint16]ifdEntry{}
	if uint64(off)+2 > uint64(len(t.b)) {
		return out
	}
	n := int(t.bo.Uint16(t.b[off:]))
	if n > maxIFDEntries {
		return out
	}
	for i := range n {
		e := uint64(off) + 2 + uint64(i)*12
		if e+12 > uint64(len(t.b)) {
			break
		}
		tag, typ, count := t.bo.Uint16(t.b[e:]), t.bo.Uint16(t.b[e+2:]), t.bo.Uint32(t.b[e+4:])
		size, ok := typeSize[typ]
		if !ok || count > 1<<16 {
			continue
		}
		total := uint64(size) * uint64(count)
		var val []byte
		if total <= 4 {
			val = t.b[e+8 : e+8+total]
		} else {
			p := uint64(t.bo.Uint32(t.b[e+8:]))
			if p+total > uint64(len(t.b)) {
				continue
			}
			val = t.b[p : p+total]
		}
		out[tag] = ifdEntry{typ: typ, count: count, val: val}
	}
	return out
}

func (t tiffReader) uint(e ifdEntry) (uint32, bool) {
	switch {
	case e.typ == 3 && len(e.val) >= 2:
		return uint32(t.bo.Uint16(e.val)), true
	case e.typ == 4 && len(e.val) >= 4:
		return t.bo.Uint32(e.val), true
	}
	return 0, false
}

func ascii(e ifdEntry) string {
	if e.typ != 2 {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(string(e.val), "\x00"))
}

// rationals reads n unsigned rationals; false if any is missing or has a zero denominator.
func (t tiffReader) rationals(e ifdEntry, n int) ([]float64, bool) {
	if e.typ != 5 || len(e.val) < 8*n {
		return nil, false
	}
	out := make([]float64, n)
	for i := range n {
		num, den := t.bo.Uint32(e.val[8*i:]), t.bo.Uint32(e.val[8*i+4:])
		if den == 0 {
			return nil, false
		}
		out[i] = float64(num) / float64(den)
	}
	return out, true
}

// parseTIFF reads orientation, the time of shooting and the GPS position from a TIFF block.
func parseTIFF(b []byte) *inspection.PhotoExif {
	if len(b) < 8 {
		return nil
	}
	t := tiffReader{b: b}
	switch string(b[:2]) {
	case "II":
		t.bo = binary.LittleEndian
	case "MM":
		t.bo = binary.BigEndian
	default:
		return nil
	}
	if t.bo.Uint16(b[2:]) != 42 {
		return nil
	}
	ifd0 := t.ifd(t.bo.Uint32(b[4:]))
	x := &inspection.PhotoExif{}
	if o, ok := t.uint(ifd0[tagOrientation]); ok && o >= 1 && o <= 8 {
		x.Orientation = int(o)
	}
	var taken, offset string
	if p, ok := t.uint(ifd0[tagExifIFD]); ok {
		sub := t.ifd(p)
		taken, offset = ascii(sub[tagDateOriginal]), ascii(sub[tagOffsetOrig])
	}
	if taken == "" {
		taken = ascii(ifd0[tagDateTime])
	}
	var gpsTime *time.Time
	if p, ok := t.uint(ifd0[tagGPSIFD]); ok {
		g := t.ifd(p)
		x.GPS = t.gpsPosition(g)
		gpsTime = t.gpsTime(g)
	}
	x.TakenAt, x.TimeSource = shootingTime(taken, offset, gpsTime)
	if x.TakenAt == nil && x.GPS == nil && x.Orientation == 0 {
		return nil
	}
	return x
}

// gpsPosition reads latitude and longitude in degrees, minutes and seconds.
func (t tiffReader) gpsPosition(g map[uint16]ifdEntry) *domain.GeoPoint {
	lat, ok1 := t.rationals(g[tagGPSLat], 3)
	lon, ok2 := t.rationals(g[tagGPSLon], 3)
	latRef, lonRef := ascii(g[tagGPSLatRef]), ascii(g[tagGPSLonRef])
	if !ok1 || !ok2 || (latRef != "N" && latRef != "S") || (lonRef != "E" && lonRef != "W") {
		return nil
	}
	p := &domain.GeoPoint{Lat: lat[0] + lat[1]/60 + lat[2]/3600, Lon: lon[0] + lon[1]/60 + lon[2]/3600}
	if latRef == "S" {
		p.Lat = -p.Lat
	}
	if lonRef == "W" {
		p.Lon = -p.Lon
	}
	if p.Lat > 90 || p.Lon > 180 || (p.Lat == 0 && p.Lon == 0) {
		return nil
	}
	return p
}

// gpsTime reads the receiver's UTC date and time of the fix.
func (t tiffReader) gpsTime(g map[uint16]ifdEntry) *time.Time {
	hms, ok := t.rationals(g[tagGPSTime], 3)
	d, err := time.Parse("2006:01:02", ascii(g[tagGPSDate]))
	if !ok || err != nil || hms[0] >= 24 || hms[1] >= 60 || hms[2] >= 61 {
		return nil
	}
	at := d.Add(time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute +
		time.Duration(hms[2]*float64(time.Second)))
	return &at
}

// shootingTime chooses the best time EXIF gives: the camera's local time with its UTC offset, then
// the GPS receiver's UTC time, then the camera's local time read as Asia/Almaty.
func shootingTime(local, offset string, gps *time.Time) (*time.Time, string) {
	const layout = "2006:01:02 15:04:05"
	if local != "" && offset != "" {
		if t, err := time.Parse(layout+"-07:00", local+offset); err == nil {
			t = t.UTC()
			return &t, "offset"
		}
	}
	if gps != nil {
		return gps, "gps"
	}
	if t, err := time.ParseInLocation(layout, local, domain.Almaty); err == nil {
		t = t.UTC()
		return &t, "assumed"
	}
	return nil, ""
}
