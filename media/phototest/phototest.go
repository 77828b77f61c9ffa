// Package phototest makes real photos for tests: JPEGs and PNGs encoded by the standard library,
// with an EXIF block built byte by byte (time, UTC offset, GPS, orientation), so the upload path and
// the EXIF reader are tested against files shaped like a tablet's, not against mocks.
package phototest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand"
	"testing"
)

// Exif is what to write into a photo's EXIF block; zero fields are left out.
type Exif struct {
	// Taken is "2006:01:02 15:04:05", the camera's local time.
	Taken string
	// Offset is the camera's UTC offset, "+05:00".
	Offset string
	// Lat and Lon are decimal degrees; both zero means no GPS.
	Lat, Lon float64
	// GPSDate "2006:01:02" and GPSTime [h, m, s] are the receiver's UTC time.
	GPSDate string
	GPSTime [3]int
	// Orientation is 1–8.
	Orientation int
}

// Image returns a w×h picture; noise > 0 adds random grain, which makes the encoded file larger
// (a phone photo of a barn compresses far worse than a gradient).
func Image(w, h, noise int, seed int64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewSource(seed))
	for y := range h {
		for x := range w {
			n := 0
			if noise > 0 {
				n = r.Intn(noise+1) - noise/2
			}
			img.Set(x, y, color.RGBA{clamp(x*255/w + n), clamp(y*255/h + n), clamp(128 + n), 0xFF})
		}
	}
	return img
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

// JPEG encodes img at quality q and puts an APP1 EXIF segment right after the SOI marker, where
// cameras put it. A zero x writes no EXIF.
func JPEG(t testing.TB, img image.Image, q int, x Exif) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if x == (Exif{}) {
		return data
	}
	payload := append([]byte("Exif\x00\x00"), TIFF(x)...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, data[2:]...)
}

// PNG encodes img and, for a non-zero x, adds an eXIf chunk before the image data.
func PNG(t testing.TB, img image.Image, x Exif) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if x == (Exif{}) {
		return data
	}
	// The signature (8 bytes) and IHDR (25 bytes) come first.
	tiff := TIFF(x)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
	chunk = append(chunk, "eXIf"...)
	chunk = append(chunk, tiff...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, data[:33]...)
	out = append(out, chunk...)
	return append(out, data[33:]...)
}

// entry is one IFD entry before layout: a value of typ with count items in raw (little-endian).
type entry struct {
	tag, typ uint16
	count    uint32
	raw      []byte
	sub      int // for pointer tags: index of the sub-IFD, -1 otherwise
}

// TIFF builds a little-endian TIFF block holding x: IFD0 (orientation, pointers), the EXIF sub-IFD
// and the GPS sub-IFD, then the values that do not fit in an entry.
func TIFF(x Exif) []byte {
	le := binary.LittleEndian
	ascii := func(tag uint16, s string) entry {
		return entry{tag: tag, typ: 2, count: uint32(len(s) + 1), raw: append([]byte(s), 0), sub: -1}
	}
	rationals := func(tag uint16, vals ...[2]uint32) entry {
		var raw []byte
		for _, v := range vals {
			raw = le.AppendUint32(raw, v[0])
			raw = le.AppendUint32(raw, v[1])
		}
		return entry{tag: tag, typ: 5, count: uint32(len(vals)), raw: raw, sub: -1}
	}
	dms := func(deg float64) [][2]uint32 {
		deg = math.Abs(deg)
		d := math.Floor(deg)
		m := math.Floor((deg - d) * 60)
		s := (deg - d - m/60) * 3600
		return [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(math.Round(s * 10000)), 10000}}
	}
	ifds := [][]entry{{}, {}, {}} // IFD0, EXIF, GPS
	if x.Orientation != 0 {
		ifds[0] = append(ifds[0], entry{tag: 0x0112, typ: 3, count: 1, raw: le.AppendUint16(nil, uint16(x.Orientation)), sub: -1})
	}
	if x.Taken != "" {
		ifds[1] = append(ifds[1], ascii(0x9003, x.Taken))
	}
	if x.Offset != "" {
		ifds[1] = append(ifds[1], ascii(0x9011, x.Offset))
	}
	if x.Lat != 0 || x.Lon != 0 {
		latRef, lonRef := "N", "E"
		if x.Lat < 0 {
			latRef = "S"
		}
		if x.Lon < 0 {
			lonRef = "W"
		}
		ifds[2] = append(ifds[2], ascii(1, latRef), rationals(2, dms(x.Lat)...), ascii(3, lonRef), rationals(4, dms(x.Lon)...))
	}
	if x.GPSDate != "" {
		g := x.GPSTime
		ifds[2] = append(ifds[2], rationals(7, [2]uint32{uint32(g[0]), 1}, [2]uint32{uint32(g[1]), 1}, [2]uint32{uint32(g[2]), 1}),
			ascii(29, x.GPSDate))
	}
	if len(ifds[1]) > 0 {
		ifds[0] = append(ifds[0], entry{tag: 0x8769, typ: 4, count: 1, sub: 1})
	}
	if len(ifds[2]) > 0 {
		ifds[0] = append(ifds[0], entry{tag: 0x8825, typ: 4, count: 1, sub: 2})
	}
	// Layout: header, then each non-empty IFD followed by its out-of-line values.
	offsets := make([]uint32, 3)
	pos := uint32(8)
	for i, ifd := range ifds {
		if i > 0 && len(ifd) == 0 {
			continue
		}
		offsets[i] = pos
		pos += 2 + 12*uint32(len(ifd)) + 4
		for _, e := range ifd {
			if len(e.raw) > 4 {
				pos += uint32(len(e.raw))
			}
		}
	}
	out := []byte("II*\x00")
	out = le.AppendUint32(out, offsets[0])
	for i, ifd := range ifds {
		if i > 0 && len(ifd) == 0 {
			continue
		}
		data := offsets[i] + 2 + 12*uint32(len(ifd)) + 4
		var extra []byte
		out = le.AppendUint16(out, uint16(len(ifd)))
		for _, e := range ifd {
			out = le.AppendUint16(out, e.tag)
			out = le.AppendUint16(out, e.typ)
			out = le.AppendUint32(out, e.count)
			switch {
			case e.sub >= 0:
				out = le.AppendUint32(out, offsets[e.sub])
			case len(e.raw) <= 4:
				out = append(out, append(e.raw, make([]byte, 4-len(e.raw))...)...)
			default:
				out = le.AppendUint32(out, data+uint32(len(extra)))
				extra = append(extra, e.raw...)
			}
		}
		out = le.AppendUint32(out, 0) // no next IFD
		out = append(out, extra...)
	}
	return out
}
