package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/vetfield/vetfield/domain"
)

// Thumbnails are made with the standard library's decoders and an area-averaging (box) filter
// written here: shrinking a 4000-pixel photo to 320 pixels averages every source pixel exactly
// once, which is both the right filter for a large reduction (no aliasing) and cheaper than the
// kernel filters of golang.org/x/image/draw, whose support grows with the scale factor. The cost
// that remains is decoding: about a quarter of a second for a 12-megapixel JPEG on the test
// machine, which is why thumbnails are made after the upload is acknowledged (see PhotoStore).
// HEIC photos get no thumbnail: there is no pure-Go HEVC decoder, and vetfield builds without cgo.

// MaxPhotoPixels bounds the pixels of a photo the server will decode: 64 megapixels is more than
// any tablet or phone camera makes, and a bound is what stops a tiny file that declares a huge
// image from exhausting memory.
const MaxPhotoPixels = 64 << 20

// MaxDecodedBytes bounds the memory one decoded photo may take. The pixel bound alone does not
// hold it: 64 megapixels of 16-bit RGBA are half a gigabyte, from a PNG of half a megabyte. 160
// MiB holds any camera's JPEG (a 48-megapixel 4:2:0 JPEG decodes to about 72 MiB).
const MaxDecodedBytes = 160 << 20

// decoding bounds how many photos the whole process decodes at once, whatever asks — the
// thumbnails made after uploads and those made on request — so a burst of uploads holds memory
// at a few times MaxDecodedBytes instead of growing with the burst.
var decoding = make(chan struct{}, 2)

// decodedSize estimates the bytes an image of cfg takes decoded, by its colour model.
func decodedSize(cfg image.Config) int64 {
	perPixel := int64(4)
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model:
		perPixel = 8
	case color.Gray16Model:
		perPixel = 2
	case color.GrayModel, color.AlphaModel:
		perPixel = 1
	case color.YCbCrModel:
		perPixel = 3 // 4:4:4 at worst; 4:2:0 takes half of it
	}
	if _, ok := cfg.ColorModel.(color.Palette); ok {
		perPixel = 1
	}
	return int64(cfg.Width) * int64(cfg.Height) * perPixel
}

// DefaultThumbSide is the longer side of a thumbnail in pixels.
const DefaultThumbSide = 320

// errNoThumbnail marks a photo whose type the server cannot decode.
var errNoThumbnail = errors.New("media: no decoder for this type")

// makeThumbnail decodes a photo of type ct, scales it so its longer side is at most side pixels,
// turns it upright by its EXIF orientation and encodes it as a JPEG.
func makeThumbnail(r io.Reader, ct string, orientation, side int) ([]byte, error) {
	// Read the header first: a few bytes can declare billions of pixels, and decoding them would
	// take the memory of the whole server.
	var head bytes.Buffer
	var cfg image.Config
	var err error
	tee := io.TeeReader(r, &head)
	switch ct {
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(tee)
	case "image/png":
		cfg, err = png.DecodeConfig(tee)
	default:
		return nil, errNoThumbnail
	}
	if err != nil {
		return nil, &domain.Error{Code: domain.EUNSUPPORTED, Message: "the photo does not decode", Err: err}
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels || decodedSize(cfg) > MaxDecodedBytes {
		return nil, &domain.Error{Code: domain.EUNSUPPORTED, Message: "the photo is too large to decode for a thumbnail"}
	}
	decoding <- struct{}{}
	defer func() { <-decoding }()
	r = io.MultiReader(&head, r)
	var img image.Image
	switch ct {
	case "image/jpeg":
		img, err = jpeg.Decode(r)
	case "image/png":
		img, err = png.Decode(r)
	}
	if err != nil {
		return nil, &domain.Error{Code: domain.EUNSUPPORTED, Message: "the photo does not decode", Err: err}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return nil, &domain.Error{Code: domain.EUNSUPPORTED, Message: "the photo has no pixels"}
	}
	tw, th := w, h
	if w >= h && w > side {
		tw, th = side, max(1, h*side/w)
	} else if h > w && h > side {
		tw, th = max(1, w*side/h), side
	}
	small := orient(boxScale(img, tw, th), orientation)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, small, &jpeg.Options{Quality: 80}); err != nil {
		return nil, domain.Internal("media: encode thumbnail", err)
	}
	return out.Bytes(), nil
}

// boxScale shrinks src to tw×th by averaging the source pixels under each destination pixel. A
// YCbCr source (every colour JPEG) is averaged in YCbCr and converted once per destination pixel.
func boxScale(src image.Image, tw, th int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	xs, ys := edges(sw, tw), edges(sh, th)
	var sample func(x, y int) (uint32, uint32, uint32)
	convert := func(a, b, c uint8) (uint8, uint8, uint8) { return a, b, c }
	switch s := src.(type) {
	case *image.YCbCr:
		sample = func(x, y int) (uint32, uint32, uint32) {
			ci := s.COffset(x, y)
			return uint32(s.Y[s.YOffset(x, y)]), uint32(s.Cb[ci]), uint32(s.Cr[ci])
		}
		convert = color.YCbCrToRGB
	case *image.Gray:
		sample = func(x, y int) (uint32, uint32, uint32) {
			v := uint32(s.Pix[s.PixOffset(x, y)])
			return v, v, v
		}
	case *image.RGBA:
		sample = func(x, y int) (uint32, uint32, uint32) {
			i := s.PixOffset(x, y)
			return uint32(s.Pix[i]), uint32(s.Pix[i+1]), uint32(s.Pix[i+2])
		}
	default: // paletted, 16-bit and non-premultiplied PNGs, CMYK JPEGs: slower, and rare for photos
		sample = func(x, y int) (uint32, uint32, uint32) {
			c := color.RGBAModel.Convert(src.At(x, y)).(color.RGBA)
			return uint32(c.R), uint32(c.G), uint32(c.B)
		}
	}
	for ty := range th {
		for tx := range tw {
			var r, g, bl, n uint32
			for y := ys[ty]; y < ys[ty+1]; y++ {
				for x := xs[tx]; x < xs[tx+1]; x++ {
					pr, pg, pb := sample(b.Min.X+x, b.Min.Y+y)
					r, g, bl, n = r+pr, g+pg, bl+pb, n+1
				}
			}
			cr, cg, cb := convert(uint8(r/n), uint8(g/n), uint8(bl/n))
			i := dst.PixOffset(tx, ty)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = cr, cg, cb, 0xFF
		}
	}
	return dst
}

// edges splits n source pixels into m runs as even as they come, each at least one pixel.
func edges(n, m int) []int {
	e := make([]int, m+1)
	for i := range e {
		e[i] = i * n / m
	}
	for i := 1; i <= m; i++ {
		if e[i] <= e[i-1] {
			e[i] = e[i-1] + 1
		}
	}
	return e
}

// orient turns img upright by an EXIF orientation: 1 is upright, 3 is upside down, 6 must be
// turned 90° clockwise, 8 counter-clockwise, and 2, 4, 5, 7 are their mirror images.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			si, di := img.PixOffset(x, y), dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], img.Pix[si:si+4])
		}
	}
	return dst
}

// imageSize reads a JPEG's or PNG's dimensions from its header, proving that the bytes are the image
// they look like. complete says whether head is the whole file: if not, a header cut short by the
// end of head is not held against the photo.
func imageSize(head []byte, ct string, complete bool) (w, h int, err error) {
	var cfg image.Config
	switch ct {
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(head))
	case "image/png":
		cfg, err = png.DecodeConfig(bytes.NewReader(head))
	default:
		return 0, 0, nil
	}
	if err != nil {
		if !complete && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
			return 0, 0, nil
		}
		return 0, 0, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, errors.New("media: an image with no pixels")
	}
	return cfg.Width, cfg.Height, nil
}
