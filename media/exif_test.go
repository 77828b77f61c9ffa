package media

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"
	"time"

	"github.com/vetfield/vetfield/media/phototest"
)

func TestReadExif(t *testing.T) {
	img := phototest.Image(64, 48, 0, 1)
	t.Run("OK", func(t *testing.T) {
		data := phototest.JPEG(t, img, 80, phototest.Exif{Taken: "2026:03:26 10:15:30", Offset: "+05:00",
			Lat: 42.901183, Lon: 71.378506, Orientation: 6})
		x := readExif(data, "image/jpeg")
		if x == nil {
			t.Fatal("no EXIF read")
		}
		if got, want := x.TakenAt.UTC(), time.Date(2026, 3, 26, 5, 15, 30, 0, time.UTC); !got.Equal(want) {
			t.Errorf("taken at %v, want %v", got, want)
		}
		if got, want := x.TimeSource, "offset"; got != want {
			t.Errorf("time source %q, want %q", got, want)
		}
		if x.GPS == nil || math.Abs(x.GPS.Lat-42.901183) > 1e-5 || math.Abs(x.GPS.Lon-71.378506) > 1e-5 {
			t.Errorf("GPS %+v, want 42.901183, 71.378506", x.GPS)
		}
		if got, want := x.Orientation, 6; got != want {
			t.Errorf("orientation %d, want %d", got, want)
		}
	})
	t.Run("GPSTimeWins", func(t *testing.T) {
		data := phototest.JPEG(t, img, 80, phototest.Exif{Taken: "2026:03:26 10:15:30", GPSDate: "2026:03:26", GPSTime: [3]int{5, 15, 29}})
		x := readExif(data, "image/jpeg")
		if x == nil || x.TimeSource != "gps" || !x.TakenAt.Equal(time.Date(2026, 3, 26, 5, 15, 29, 0, time.UTC)) {
			t.Errorf("got %+v, want the GPS receiver's UTC time", x)
		}
	})
	t.Run("LocalTimeAssumedAlmaty", func(t *testing.T) {
		x := readExif(phototest.JPEG(t, img, 80, phototest.Exif{Taken: "2026:03:26 10:15:30"}), "image/jpeg")
		if x == nil || x.TimeSource != "assumed" || !x.TakenAt.Equal(time.Date(2026, 3, 26, 5, 15, 30, 0, time.UTC)) {
			t.Errorf("got %+v, want 10:15:30 read as UTC+5", x)
		}
	})
	t.Run("SouthWest", func(t *testing.T) {
		x := readExif(phototest.JPEG(t, img, 80, phototest.Exif{Lat: -33.5, Lon: -70.25}), "image/jpeg")
		if x == nil || x.GPS == nil || x.GPS.Lat != -33.5 || x.GPS.Lon != -70.25 {
			t.Errorf("got %+v, want -33.5, -70.25", x)
		}
	})
	t.Run("PNG", func(t *testing.T) {
		x := readExif(phototest.PNG(t, img, phototest.Exif{Taken: "2026:01:02 03:04:05", Offset: "+06:00"}), "image/png")
		if x == nil || !x.TakenAt.Equal(time.Date(2026, 1, 1, 21, 4, 5, 0, time.UTC)) {
			t.Errorf("got %+v", x)
		}
		if _, err := decodePNG(phototest.PNG(t, img, phototest.Exif{Taken: "2026:01:02 03:04:05"})); err != nil {
			t.Errorf("the PNG with an eXIf chunk does not decode: %v", err)
		}
	})
	t.Run("None", func(t *testing.T) {
		for name, data := range map[string][]byte{
			"no EXIF":     phototest.JPEG(t, img, 80, phototest.Exif{}),
			"empty":       nil,
			"not a JPEG":  []byte("GIF89a...."),
			"bad length":  {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'},
			"bad TIFF":    append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, []byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00")...),
			"zero date":   phototest.JPEG(t, img, 80, phototest.Exif{Taken: "0000:00:00 00:00:00"}),
			"png no exif": phototest.PNG(t, img, phototest.Exif{}),
		} {
			if x := readExif(data, "image/jpeg"); x != nil {
				t.Errorf("%s: read %+v, want nothing", name, x)
			}
		}
	})
}

func decodePNG(b []byte) (image.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(b))
	return img, err
}

// FuzzParseExif holds the reader to never panicking and never reading outside its input, whatever
// a tablet sends.
func FuzzParseExif(f *testing.F) {
	img := phototest.Image(16, 16, 0, 1)
	f.Add(phototest.TIFF(phototest.Exif{Taken: "2026:03:26 10:15:30", Offset: "+05:00", Lat: 43.2, Lon: 76.9, Orientation: 3,
		GPSDate: "2026:03:26", GPSTime: [3]int{5, 1, 2}}))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"))
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, nil)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = parseTIFF(data)
		_ = readExif(data, "image/jpeg")
		_ = readExif(append(append([]byte{}, pngMagic...), data...), "image/png")
	})
}

func TestSniffPhoto(t *testing.T) {
	img := phototest.Image(8, 8, 0, 1)
	jpg, png := phototest.JPEG(t, img, 80, phototest.Exif{}), phototest.PNG(t, img, phototest.Exif{})
	heic := []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
	for _, c := range []struct {
		name     string
		head     []byte
		complete bool
		ct       string
		decided  bool
	}{
		{"jpeg", jpg[:3], false, "image/jpeg", true},
		{"png", png[:12], false, "image/png", true},
		{"heic", heic[:12], false, "image/heic", true},
		{"heif", []byte("\x00\x00\x00\x18ftypmif1"), false, "image/heif", true},
		{"avif refused", []byte("\x00\x00\x00\x18ftypavif"), false, "", true},
		{"gif refused", []byte("GIF89a\x01\x00\x01\x00\x00\x00"), false, "", true},
		{"pdf refused", []byte("%PDF-1.7\n%\xe2\xe3"), false, "", true},
		{"too short yet", []byte{0x00, 0x00}, false, "", false},
		{"short and complete", []byte{0x00, 0x00}, true, "", true},
	} {
		ct, decided := sniffPhoto(c.head, c.complete)
		if ct != c.ct || decided != c.decided {
			t.Errorf("%s: (%q, %v), want (%q, %v)", c.name, ct, decided, c.ct, c.decided)
		}
	}
}

func TestMakeThumbnail(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		data := phototest.JPEG(t, phototest.Image(1000, 600, 20, 1), 85, phototest.Exif{})
		thumb, err := makeThumbnail(bytes.NewReader(data), "image/jpeg", 1, 320)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width != 320 || cfg.Height != 192 {
			t.Errorf("thumbnail %dx%d, want 320x192", cfg.Width, cfg.Height)
		}
	})
	t.Run("Upright", func(t *testing.T) {
		// Orientation 6: stored landscape, shown portrait.
		data := phototest.JPEG(t, phototest.Image(800, 400, 0, 1), 85, phototest.Exif{})
		thumb, err := makeThumbnail(bytes.NewReader(data), "image/jpeg", 6, 320)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := jpeg.DecodeConfig(bytes.NewReader(thumb))
		if cfg.Width != 160 || cfg.Height != 320 {
			t.Errorf("thumbnail %dx%d, want 160x320", cfg.Width, cfg.Height)
		}
	})
	t.Run("PNGSmall", func(t *testing.T) {
		data := phototest.PNG(t, phototest.Image(100, 50, 0, 1), phototest.Exif{})
		thumb, err := makeThumbnail(bytes.NewReader(data), "image/png", 0, 320)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, _ := jpeg.DecodeConfig(bytes.NewReader(thumb)); cfg.Width != 100 || cfg.Height != 50 {
			t.Errorf("thumbnail %dx%d, want the photo's own 100x50: never enlarged", cfg.Width, cfg.Height)
		}
	})
	t.Run("ErrHEIC", func(t *testing.T) {
		if _, err := makeThumbnail(bytes.NewReader(nil), "image/heic", 0, 320); err != errNoThumbnail {
			t.Errorf("HEIC: %v, want errNoThumbnail", err)
		}
	})
	t.Run("ErrCorrupt", func(t *testing.T) {
		data := phototest.JPEG(t, phototest.Image(100, 100, 0, 1), 85, phototest.Exif{})
		if _, err := makeThumbnail(bytes.NewReader(data[:len(data)/2]), "image/jpeg", 0, 320); err == nil {
			t.Error("a truncated JPEG made a thumbnail")
		}
	})
}

func TestBoxScaleAverages(t *testing.T) {
	// A 4×2 image of black and white columns averages to mid-grey at 2×1.
	src := image.NewGray(image.Rect(0, 0, 4, 2))
	for y := range 2 {
		for x := range 4 {
			if x%2 == 0 {
				src.Pix[src.PixOffset(x, y)] = 255
			}
		}
	}
	dst := boxScale(src, 2, 1)
	for x := range 2 {
		if r := dst.Pix[dst.PixOffset(x, 0)]; r != 127 {
			t.Errorf("pixel %d = %d, want 127", x, r)
		}
	}
}
