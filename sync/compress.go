package sync

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/vetfield/vetfield/domain"
)

// A pull page is the largest answer a tablet waits for over a 2G link, so format 2 pages are
// compressed for size rather than speed, once, where they are made: zstd when the client takes it
// (smaller than gzip and faster to decode on a tablet), gzip at its default level otherwise. The
// API's middleware compresses every other answer at gzip's fastest level and leaves alone one
// that already has its Content-Encoding. zstd's fastest level compressed a district's pages of
// records as small as its default level did (75 against 80 bytes per record on one measured page)
// at several times the speed; the 8 MiB window lets it find what repeats across a whole page.
var zstdPages, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
	zstd.WithWindowSize(8<<20))

// CompressPage compresses a page as acceptEncoding allows and names the encoding ("" for none).
func CompressPage(page []byte, acceptEncoding string) ([]byte, string, error) {
	switch {
	case accepts(acceptEncoding, "zstd"):
		return zstdPages.EncodeAll(page, make([]byte, 0, len(page)/6)), "zstd", nil
	case accepts(acceptEncoding, "gzip"):
		var buf bytes.Buffer
		buf.Grow(len(page) / 5)
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if _, err := zw.Write(page); err != nil {
			return nil, "", domain.Internal("gzip a page", err)
		}
		if err := zw.Close(); err != nil {
			return nil, "", domain.Internal("gzip a page", err)
		}
		return buf.Bytes(), "gzip", nil
	}
	return page, "", nil
}

// accepts reports whether an Accept-Encoding header (RFC 9110, section 12.5.3) takes coding:
// named, or covered by "*", with a quality above zero.
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if name == coding {
			return q > 0
		}
		star = q > 0
	}
	return star
}
