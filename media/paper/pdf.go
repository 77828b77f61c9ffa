package paper

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/signintech/gopdf"
	"github.com/skip2/go-qrcode"

	"github.com/vetfield/vetfield/media"
)

// DejaVu Sans has every letter of the Kazakh alphabet (ә ғ қ ң ө ұ ү һ і) and is free to embed
// (fonts/LICENSE). It is compiled in, so the server needs no fonts installed; gopdf embeds only the
// glyphs a paper uses.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

const (
	fontFamily = "dejavu"
	margin     = 34.0 // 12 mm, as the print view's @page
	qrSide     = 85.0 // 30 mm: a version-10 code still scans
	lineGap    = 1.25 // line height as a multiple of the font size
)

// pdfWriter lays a paper out top to bottom, starting a new page when a block does not fit.
type pdfWriter struct {
	gp   *gopdf.GoPdf
	w, h float64 // page size, points
	y    float64
	err  error
}

// PDF renders p as a PDF on its page size (PageSize), with the QR code of p.VerifyURL.
func PDF(p Paper) ([]byte, error) {
	size := *gopdf.PageSizeA5
	if PageSize(p.Type) == "A4" {
		size = *gopdf.PageSizeA4
	}
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: size, Unit: gopdf.UnitPT})
	gp.SetInfo(gopdf.PdfInfo{Title: p.Title.RU + " " + p.Number, Subject: p.Title.KK, Creator: "vetfield"})
	if err := gp.AddTTFFontData(fontFamily, fontRegular); err != nil {
		return nil, err
	}
	if err := gp.AddTTFFontDataWithOption(fontFamily, fontBold, gopdf.TtfOption{Style: gopdf.Bold}); err != nil {
		return nil, err
	}
	qr, err := qrImage(p.VerifyURL)
	if err != nil {
		return nil, err
	}
	w := &pdfWriter{gp: gp, w: size.W, h: size.H}
	w.page()
	w.header(p, qr)
	for _, f := range p.Fields {
		w.field(f)
	}
	for _, t := range p.Tables {
		w.table(t)
	}
	if p.StatusNote.KK != "" {
		w.y += 6
		w.paragraph(margin, w.w-2*margin, p.StatusNote.Both(), "B", 10, [3]uint8{0xb3, 0x26, 0x1e})
	}
	w.footer(p)
	for _, pg := range p.Pages {
		w.extraPage(p, pg)
	}
	if w.err != nil {
		return nil, w.err
	}
	return gp.GetBytesPdf(), nil
}

func (w *pdfWriter) page() {
	w.gp.AddPage()
	w.y = margin
}

func (w *pdfWriter) font(style string, size float64) {
	if w.err == nil {
		w.err = w.gp.SetFont(fontFamily, style, size)
	}
}

// lines wraps text to width in the current font, at spaces where it can and inside long words
// (hashes, URLs) where it must.
func (w *pdfWriter) lines(text string, width float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		ls, err := w.gp.SplitTextWithWordWrap(para, width)
		if err != nil {
			w.err = err
			return nil
		}
		out = append(out, ls...)
	}
	return out
}

// text writes lines from (x, y) down and returns the height used.
func (w *pdfWriter) text(x, y float64, lines []string, size float64) float64 {
	for i, l := range lines {
		w.gp.SetXY(x, y+float64(i)*size*lineGap)
		if w.err == nil {
			w.err = w.gp.Cell(nil, l)
		}
	}
	return float64(len(lines)) * size * lineGap
}

func (w *pdfWriter) colour(c [3]uint8) { w.gp.SetTextColor(c[0], c[1], c[2]) }

var (
	black = [3]uint8{0, 0, 0}
	grey  = [3]uint8{0x44, 0x44, 0x44}
)

// fit starts a new page unless height fits above the bottom margin.
func (w *pdfWriter) fit(height float64) {
	if w.y+height > w.h-margin && w.y > margin {
		w.page()
	}
}

func (w *pdfWriter) paragraph(x, width float64, text, style string, size float64, c [3]uint8) {
	w.font(style, size)
	ls := w.lines(text, width)
	w.fit(float64(len(ls)) * size * lineGap)
	w.colour(c)
	w.y += w.text(x, w.y, ls, size)
	w.colour(black)
}

func (w *pdfWriter) header(p Paper, qr image.Image) {
	left := w.w - 2*margin - qrSide - 12
	if w.err == nil {
		w.err = w.gp.ImageFrom(qr, w.w-margin-qrSide, margin, &gopdf.Rect{W: qrSide, H: qrSide})
	}
	w.paragraph(margin, left, p.Title.KK, "B", 13, black)
	w.y += 2
	w.paragraph(margin, left, p.Title.RU, "", 11, black)
	w.y += 4
	w.paragraph(margin, left, p.Badge.Both(), "B", 8.5, hexColour(p.Accent))
	w.y += 4
	w.paragraph(margin, left, "№ "+p.Number, "", 11, black)
	w.y = max(w.y, margin+qrSide) + 6
	w.gp.SetLineWidth(1.5)
	w.gp.Line(margin, w.y, w.w-margin, w.y)
	w.y += 8
}

func (w *pdfWriter) field(f Field) {
	labelW := (w.w - 2*margin) * 0.42
	valueX, valueW := margin+labelW+6, w.w-2*margin-labelW-6
	w.font("", 8)
	label := w.lines(f.Label.Both(), labelW)
	w.font("B", 9.5)
	value := w.lines(f.Value.KK, valueW)
	if f.Value.Bilingual() {
		value = append(value, w.lines(f.Value.RU, valueW)...)
	}
	h := max(float64(len(label))*8*lineGap, float64(len(value))*9.5*lineGap) + 5
	w.fit(h)
	w.font("", 8)
	w.colour(grey)
	w.text(margin, w.y+1, label, 8)
	w.colour(black)
	w.font("B", 9.5)
	w.text(valueX, w.y, value, 9.5)
	w.y += h
	w.gp.SetLineWidth(0.5)
	w.gp.SetStrokeColor(0xbb, 0xbb, 0xbb)
	w.gp.Line(margin, w.y-2, w.w-margin, w.y-2)
	w.gp.SetStrokeColor(0, 0, 0)
}

// table lays out a list: a caption, a header row and rows whose cells hold both languages. The
// number column is narrow; the rest share the width.
func (w *pdfWriter) table(t Table) {
	width := w.w - 2*margin
	widths := make([]float64, len(t.Columns))
	narrow, wide := 0, 0
	for _, c := range t.Columns {
		if c.KK == "№" {
			narrow++
		} else {
			wide++
		}
	}
	total := 0.0
	for i, c := range t.Columns {
		if c.KK != "№" {
			total += weight(t.Weights, i)
		}
	}
	for i, c := range t.Columns {
		if c.KK == "№" {
			widths[i] = 18
		} else {
			widths[i] = (width - 18*float64(narrow)) * weight(t.Weights, i) / max(total, 1)
		}
	}
	w.y += 6
	w.fit(40)
	w.paragraph(margin, width, t.Label.Both(), "B", 9.5, black)
	w.y += 2
	w.row(t.Columns, widths, "B", 7.5)
	w.gp.SetLineWidth(1)
	w.gp.Line(margin, w.y-2, w.w-margin, w.y-2)
	for _, r := range t.Rows {
		w.row(r, widths, "", 8)
	}
}

// weight is column i's share of a table's width: its weight, or 1.
func weight(ws []float64, i int) float64 {
	if i < len(ws) && ws[i] > 0 {
		return ws[i]
	}
	return 1
}

func (w *pdfWriter) row(cells []Text, widths []float64, style string, size float64) {
	w.font(style, size)
	cols := make([][]string, len(cells))
	n := 0
	for i, c := range cells {
		if i >= len(widths) {
			break
		}
		cols[i] = w.lines(c.KK, widths[i]-4)
		if c.Bilingual() {
			cols[i] = append(cols[i], w.lines(c.RU, widths[i]-4)...)
		}
		n = max(n, len(cols[i]))
	}
	h := float64(n)*size*lineGap + 4
	w.fit(h)
	x := margin
	for i, ls := range cols {
		w.text(x, w.y, ls, size)
		x += widths[i]
	}
	w.y += h
	w.gp.SetLineWidth(0.5)
	w.gp.SetStrokeColor(0xbb, 0xbb, 0xbb)
	w.gp.Line(margin, w.y-2, w.w-margin, w.y-2)
	w.gp.SetStrokeColor(0, 0, 0)
}

func (w *pdfWriter) footer(p Paper) {
	w.y += 18
	w.fit(70)
	top := w.y
	half := (w.w - 2*margin) / 2
	w.paragraph(margin, half-6, p.Issuer, "", 9.5, black)
	w.paragraph(margin, half-6, p.Unit, "", 9.5, black)
	bottom := w.y
	w.y = top + 14
	w.gp.SetLineWidth(0.5)
	w.gp.Line(margin+half, w.y, w.w-margin, w.y)
	w.y += 3
	w.paragraph(margin+half, half, LabelSign.Both(), "", 8, black)
	w.y = max(w.y, bottom) + 12
	w.font("", 7.5)
	ls := w.lines(LabelCheck.Both()+":", w.w-2*margin)
	if url, err := w.gp.SplitTextWithOption(p.VerifyLink, w.w-2*margin, &gopdf.BreakOption{Mode: gopdf.BreakModeStrict}); err == nil {
		ls = append(ls, url...)
	}
	w.fit(float64(len(ls)) * 7.5 * lineGap)
	w.colour(grey)
	w.y += w.text(margin, w.y, ls, 7.5)
	w.colour(black)
}

// extraPage starts a page of its own for pg: its title in both languages, the paper's number,
// where its rows come from, and its table.
func (w *pdfWriter) extraPage(p Paper, pg Page) {
	w.page()
	width := w.w - 2*margin
	w.paragraph(margin, width, pg.Title.KK, "B", 12, black)
	w.paragraph(margin, width, pg.Title.RU, "", 10.5, black)
	w.y += 2
	w.paragraph(margin, width, p.Title.Both()+" № "+p.Number, "", 8.5, grey)
	w.paragraph(margin, width, pg.Note.Both(), "", 7.5, grey)
	w.y += 2
	w.gp.SetLineWidth(1.5)
	w.gp.Line(margin, w.y, w.w-margin, w.y)
	w.y += 2
	t := pg.Table
	t.Label = Text{}
	w.table(t)
}

// hexColour reads "#rrggbb"; anything else is black.
func hexColour(s string) [3]uint8 {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c
	}
	for i := range 3 {
		var v uint8
		for _, ch := range s[1+2*i : 3+2*i] {
			v <<= 4
			switch {
			case ch >= '0' && ch <= '9':
				v |= uint8(ch - '0')
			case ch >= 'a' && ch <= 'f':
				v |= uint8(ch-'a') + 10
			case ch >= 'A' && ch <= 'F':
				v |= uint8(ch-'A') + 10
			}
		}
		c[i] = v
	}
	return c
}

// qrScale is how many image pixels a QR module gets in the PDF.
const qrScale = 8

// qrImage draws the QR code of url (level M, as media.QRCode) with exactly qrScale pixels a
// module. A PNG of a fixed width gives modules of uneven width (7 or 8 pixels at 512), and a
// printer or rasteriser scaling that down blurs them unevenly: one code in thirty failed to scan
// off a 200 dpi rendering. Even modules scale down evenly.
func qrImage(url string) (image.Image, error) {
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	if q.VersionNumber > media.QRMaxVersion {
		return nil, fmt.Errorf("the QR content needs version %d, above %d", q.VersionNumber, media.QRMaxVersion)
	}
	bits := q.Bitmap()
	n := len(bits)
	img := image.NewGray(image.Rect(0, 0, n*qrScale, n*qrScale))
	for y, row := range bits {
		for x, dark := range row {
			c := color.Gray{Y: 0xff}
			if dark {
				c = color.Gray{Y: 0}
			}
			for dy := range qrScale {
				for dx := range qrScale {
					img.SetGray(x*qrScale+dx, y*qrScale+dy, c)
				}
			}
		}
	}
	return img, nil
}
