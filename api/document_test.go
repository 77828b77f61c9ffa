package api_test

import (
	"bytes"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// issuePassport issues a passport for an animal in Bayzak district through the domain, as the
// identification service does.
func (e *env) issuePassport(owner domain.IIN) *documents.Document {
	e.t.Helper()
	d, err := e.srv.Documents.Issue(e.t.Context(), documents.Draft{
		Type: documents.DocPassport,
		Subject: documents.Subject{Kind: documents.SubjectAnimal, ID: domain.NewID(), Tag: "398012345678901",
			Species: "cattle", OwnerIIN: owner, Territory: "313200000"},
		Issuer:  documents.Issuer{UserID: "vet", Name: "Айгүл Серікқызы", Unit: "313200000", UnitName: "Байзақ аудандық ветстанциясы"},
		Content: map[string]any{"breed": "Әулиеата", "colour": "қызыл", "sex": "female", "birth_date": "2025-04-02"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// decodeQR reads a QR code as a phone would. gozxing misses about one clean code in a hundred
// (measured over 300 random passport tokens; zbar reads every one of those), so a code gozxing
// misses is read again with zbar, a second, independent decoder: only a code neither reads fails.
func decodeQR(t *testing.T, png []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatalf("not an image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err == nil {
		return res.GetText()
	}
	f := filepath.Join(t.TempDir(), "qr.png")
	if werr := os.WriteFile(f, png, 0o600); werr != nil {
		t.Fatal(werr)
	}
	out, zerr := exec.Command(tool(t, "zbarimg"), "-q", "--raw", f).Output()
	if zerr != nil {
		t.Fatalf("the QR code does not decode (gozxing: %v; zbar: %v)", err, zerr)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func TestQRToVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	for _, size := range []int{256, 512, 1024} {
		r := e.do("GET", "/v1/documents/"+doc.ID+"/qr.png?size="+strconv.Itoa(size), e.admin, nil).expect(t, 200)
		if r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(r.Body))
		if err != nil || cfg.Width != size {
			t.Errorf("size %d: got %dpx (%v)", size, cfg.Width, err)
		}
		url := decodeQR(t, r.Body)
		qr, _ := documents.QRToken(doc.Token)
		if want := "HTTPS://VET.EXAMPLE.KZ/V/" + qr; url != want {
			t.Fatalf("the code says %q, want %q", url, want)
		}
		var v api.VerificationView
		e.do("GET", "/v1/verify/"+strings.TrimPrefix(url, "HTTPS://VET.EXAMPLE.KZ/V/"), "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "genuine" || v.Number != doc.Number || v.Tag != "398012345678901" || v.OwnerIIN != "88********23" {
			t.Errorf("verify answered %+v", v)
		}
	}
	e.do("GET", "/v1/documents/"+doc.ID+"/qr.png?size=128", e.admin, nil).expectProblem(t, 422)
	e.do("GET", "/v1/documents/"+doc.ID+"/qr.png?size=5000", e.admin, nil).expectProblem(t, 422)
}

// TestVerifyQRForms: the QR form of a token (URL45, under the upper-case /V/ the code holds) and
// the base64url form of papers printed before both verify on every route, and the document's
// verify_url is the one the code holds.
func TestVerifyQRForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	qr, err := documents.QRToken(doc.Token)
	if err != nil {
		t.Fatal(err)
	}
	var view api.DocumentView
	e.do("GET", "/v1/documents/"+doc.ID, e.admin, nil).expect(t, 200).JSON(t, &view)
	if want := "HTTPS://VET.EXAMPLE.KZ/V/" + qr; view.VerifyURL != want || view.Token != doc.Token {
		t.Errorf("verify_url %q, token %q; want %q and the base64url token", view.VerifyURL, view.Token, want)
	}
	for _, tok := range []string{qr, doc.Token} {
		var v api.VerificationView
		e.do("GET", "/v1/verify/"+tok, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "genuine" || v.Number != doc.Number {
			t.Errorf("/v1/verify/%s: %+v", tok, v)
		}
		for _, path := range []string{"/V/", "/v/"} {
			if p := string(e.do("GET", path+tok+"?lang=ru", "", nil).expect(t, 200).Body); !strings.Contains(p, ">ПОДЛИННЫЙ<") || !strings.Contains(p, doc.Number) {
				t.Errorf("%s%s is not the genuine page", path, tok)
			}
		}
	}
	raw, _ := documents.DecodeURL45(qr)
	raw[30] ^= 1
	var v api.VerificationView
	e.do("GET", "/V/"+documents.EncodeURL45(raw)+"?lang=ru", "", nil).expect(t, 200)
	e.do("GET", "/v1/verify/"+documents.EncodeURL45(raw), "", nil).expect(t, 200).JSON(t, &v)
	if v.Status != "not_genuine" {
		t.Errorf("a flipped URL45 token verifies as %q", v.Status)
	}
}

func TestVerifyStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	page := func(token, lang string) string {
		return string(e.do("GET", "/v/"+token+"?lang="+lang, "", nil).expect(t, 200).Body)
	}
	check := func(token, status, kk, ru string) {
		t.Helper()
		var v api.VerificationView
		e.do("GET", "/v1/verify/"+token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != status {
			t.Errorf("JSON status %q, want %q", v.Status, status)
		}
		if p := page(token, "kk"); !strings.Contains(p, ">"+kk+"<") {
			t.Errorf("Kazakh page lacks %q", kk)
		}
		if p := page(token, "ru"); !strings.Contains(p, ">"+ru+"<") {
			t.Errorf("Russian page lacks %q", ru)
		}
	}
	check(doc.Token, "genuine", "ТҮПНҰСҚА", "ПОДЛИННЫЙ")
	if p := page(doc.Token, "ru"); strings.Contains(p, "880101300123") || !strings.Contains(p, "88********23") || !strings.Contains(p, doc.Number) {
		t.Errorf("the public page shows the IIN unmasked or lacks the number")
	}
	flipped := []byte(doc.Token)
	flipped[20] ^= 1
	check(string(flipped), "not_genuine", "ТҮПНҰСҚА ЕМЕС", "НЕ ПОДЛИННЫЙ")
	check(doc.Token[:60], "not_genuine", "ТҮПНҰСҚА ЕМЕС", "НЕ ПОДЛИННЫЙ")
	check(strings.Repeat("A", 1500), "not_genuine", "ТҮПНҰСҚА ЕМЕС", "НЕ ПОДЛИННЫЙ")

	// Accept-Language decides when there is no ?lang.
	r := e.do("GET", "/v/"+doc.Token, "", nil, "Accept-Language", "ru-RU,ru;q=0.9,en;q=0.8")
	if !strings.Contains(string(r.Body), "ПОДЛИННЫЙ") {
		t.Error("Accept-Language ru did not give the Russian page")
	}

	dup, err := e.srv.Documents.Issue(t.Context(), documents.Draft{Type: documents.DocPassportDuplicate, Subject: doc.Subject,
		Issuer: doc.Issuer, Content: map[string]any{}, Supersedes: doc.ID})
	if err != nil {
		t.Fatal(err)
	}
	check(doc.Token, "superseded", "АУЫСТЫРЫЛҒАН", "ЗАМЕНЁН")
	if !strings.Contains(page(doc.Token, "ru"), dup.Number) {
		t.Error("the superseded page does not name the successor")
	}

	e.do("POST", "/v1/documents/"+dup.ID+"/revoke", e.admin, map[string]string{"reason": "выдан ошибочно"}).expect(t, 200)
	check(dup.Token, "revoked", "КҮШІ ЖОЙЫЛҒАН", "ОТОЗВАН")
	if !strings.Contains(page(dup.Token, "ru"), "выдан ошибочно") {
		t.Error("the revoked page does not give the reason")
	}
}

func TestDocumentAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	e.createUser(map[string]any{"username": "vet.bayzak", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	e.createUser(map[string]any{"username": "vet.shu", "password": "vet-password-1", "role": "vet", "territory": "314000000"})
	e.createUser(map[string]any{"username": "owner", "password": "farmer-password", "role": "farmer", "iin": "880101300123"})
	e.createUser(map[string]any{"username": "neighbour", "password": "farmer-password", "role": "farmer", "iin": "781214200010"})
	local := e.login("vet.bayzak", "vet-password-1").AccessToken
	other := e.login("vet.shu", "vet-password-1").AccessToken
	owner := e.login("owner", "farmer-password").AccessToken
	neighbour := e.login("neighbour", "farmer-password").AccessToken

	for _, tok := range []string{e.admin, local, owner} {
		var v api.DocumentView
		e.do("GET", "/v1/documents/"+doc.ID, tok, nil).expect(t, 200).JSON(t, &v)
		if qr, _ := documents.QRToken(doc.Token); v.Number != doc.Number || v.VerifyURL != "HTTPS://VET.EXAMPLE.KZ/V/"+qr {
			t.Errorf("document view %+v", v)
		}
		var page api.Page[api.DocumentView]
		e.do("GET", "/v1/documents?subject="+doc.Subject.ID, tok, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Errorf("list by subject: %d items", len(page.Items))
		}
	}
	for _, tok := range []string{other, neighbour} {
		for _, path := range []string{"", "/qr.png", "/print"} {
			e.do("GET", "/v1/documents/"+doc.ID+path, tok, nil).expectProblem(t, 404)
		}
		var page api.Page[api.DocumentView]
		e.do("GET", "/v1/documents?subject="+doc.Subject.ID, tok, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district or owner lists %d documents", len(page.Items))
		}
	}
	// Revoking: a farmer may not, another district cannot see it, the issuing unit may.
	e.do("POST", "/v1/documents/"+doc.ID+"/revoke", owner, map[string]string{"reason": "x"}).expectProblem(t, 403)
	e.do("POST", "/v1/documents/"+doc.ID+"/revoke", other, map[string]string{"reason": "x"}).expectProblem(t, 404)
	e.do("POST", "/v1/documents/"+doc.ID+"/revoke", local, map[string]string{"reason": ""}).expectProblem(t, 422)
	e.do("POST", "/v1/documents/"+doc.ID+"/revoke", local, map[string]string{"reason": "animal died"}).expect(t, 200)
	e.do("POST", "/v1/documents/"+doc.ID+"/revoke", local, map[string]string{"reason": "again"}).expectProblem(t, 409)
}

func TestPrintView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	r := e.do("GET", "/v1/documents/"+doc.ID+"/print", e.admin, nil).expect(t, 200)
	html := string(r.Body)
	for _, want := range []string{doc.Number, "Ветеринариялық паспорт", "Ветеринарный паспорт", "Әулиеата",
		"data:image/png;base64,", "Байзақ аудандық ветстанциясы", "@page { size: A5", "398012345678901"} {
		if !strings.Contains(html, want) {
			t.Errorf("the print view lacks %q", want)
		}
	}
}

func TestKeysEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}
	e.do("GET", "/.well-known/vetfield-keys.json", "", nil).expect(t, 200).JSON(t, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kty != "OKP" || set.Keys[0].Crv != "Ed25519" || set.Keys[0].Kid != e.keys.Current().ID {
		t.Errorf("keys %+v", set)
	}
}

func TestPublicRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetPublicRate(5)
	for range 5 {
		e.do("GET", "/v1/verify/abc", "", nil).expect(t, 200)
	}
	r := e.do("GET", "/v/abc", "", nil)
	r.expectProblem(t, 429)
	if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 || wait > 60 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Authenticated routes are not limited by it.
	e.do("GET", "/v1/me", e.admin, nil).expect(t, 200)
	// The counter lives in the store: the next minute starts afresh.
	e.clock.Advance(61 * 1e9)
	e.do("GET", "/v1/verify/abc", "", nil).expect(t, 200)
}
