package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"runtime"
	"sync"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// pngDeclaring returns a PNG of a few dozen bytes whose header declares w×h RGBA pixels: the
// shape of a decompression bomb.
func pngDeclaring(w, h uint32) []byte { return pngDeclaringDepth(w, h, 8) }

// pngDeclaringDepth is pngDeclaring with depth bits per RGBA channel (8 or 16).
func pngDeclaringDepth(w, h uint32, depth byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, 6 // RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// TestDecompressionBomb: a tiny file declaring billions of pixels is refused when it is uploaded
// and never decoded for a thumbnail, instead of crashing or starving the server.
func TestDecompressionBomb(t *testing.T) {
	bomb := pngDeclaring(1<<28, 1<<28)
	ph := &inspection.Photo{ContentType: "image/png", Size: int64(len(bomb))}
	if err := describe(ph, bomb, true); !domain.IsCode(err, domain.EUNSUPPORTED) {
		t.Fatalf("describe accepted a %d-byte PNG declaring 2^56 pixels: %v", len(bomb), err)
	}
	if _, err := makeThumbnail(bytes.NewReader(bomb), "image/png", 1, DefaultThumbSide); !domain.IsCode(err, domain.EUNSUPPORTED) {
		t.Fatalf("makeThumbnail tried to decode the bomb: %v", err)
	}
	// A large but honest photo is still fine as far as the bound goes.
	if err := describe(&inspection.Photo{ContentType: "image/png"}, pngDeclaring(4000, 3000), true); domain.IsCode(err, domain.EUNSUPPORTED) && bytes.Contains([]byte(err.Error()), []byte("pixels")) {
		t.Fatalf("a 12 MP header was refused for its size: %v", err)
	}
}

// TestDecodedBytesBound: 64 megapixels of 16-bit RGBA pass the pixel bound but would take half a
// gigabyte decoded; a burst of such photos is refused before any decode, and memory stays flat.
func TestDecodedBytesBound(t *testing.T) {
	bomb := pngDeclaringDepth(8192, 8192, 16)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for range 7 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := makeThumbnail(bytes.NewReader(bomb), "image/png", 1, DefaultThumbSide); !domain.IsCode(err, domain.EUNSUPPORTED) {
				t.Errorf("a 16-bit 8192×8192 PNG was decoded: %v", err)
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("seven refused photos allocated %d MiB", grew>>20)
	}
	// An honest 16-bit photo of a few megapixels still gets its thumbnail.
	img := image.NewNRGBA64(image.Rect(0, 0, 2000, 1500))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := makeThumbnail(&buf, "image/png", 1, DefaultThumbSide); err != nil {
		t.Errorf("a 3 MP 16-bit PNG: %v", err)
	}
}
