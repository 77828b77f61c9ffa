package media_test

import (
	"bytes"
	"image"
	_ "image/png"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"

	"github.com/vetfield/vetfield/media"
)

// TestQRAlphanumericMode pins that the encoder writes an all-alphanumeric URL in alphanumeric
// mode: a passport's URL of 195 such characters fits version 8 at level M (221 characters), where
// byte mode would need version 10 (152 bytes at version 8). The same URL in lower case is bytes.
func TestQRAlphanumericMode(t *testing.T) {
	url := "HTTPS://VETFIELD.ZHAMBYL.GOV.KZ/V/" + strings.Repeat("0AZ$*+-.:", 18)[:161]
	for _, c := range []struct {
		content string
		version int
	}{{url, 8}, {strings.ToLower(url), 10}} {
		q, err := qrcode.New(c.content, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		if q.VersionNumber != c.version {
			t.Errorf("%d characters need version %d, want %d", len(c.content), q.VersionNumber, c.version)
		}
	}
	png, err := media.QRCode(url, 295)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(png)); err != nil || cfg.Width != 295 {
		t.Errorf("PNG %d px wide, %v", cfg.Width, err)
	}
	if _, err := media.QRCode(strings.Repeat("a", 300), 256); err == nil {
		t.Error("content past version 10 rendered")
	}
}
