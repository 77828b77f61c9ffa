package api_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain/documents"
)

// chromium returns the path of Debian's Chromium, which `make test` installs. Under CI its
// absence fails the test; elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("VETFIELD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is required under CI: run the README's test command")
	}
	t.Skip("no Chromium; `make test` installs it")
	return ""
}

// renderDOM loads url in headless Chromium and returns the DOM after scripts ran, as a person's
// browser would show it.
func renderDOM(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}, extra...)
	out, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium %s: %v", url, err)
	}
	return string(out)
}

// TestVerifyPageInChromium loads the public page of a genuine, a superseded, a revoked and a
// forged code in real Chromium and reads the status each shows, in Kazakh and in Russian.
func TestVerifyPageInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	e := newEnv(t)
	genuine := e.issuePassport("880101300123")
	old := e.issuePassport("880101300123")
	if _, err := e.srv.Documents.Issue(t.Context(), documents.Draft{Type: documents.DocPassportDuplicate, Subject: old.Subject,
		Issuer: old.Issuer, Content: map[string]any{}, Supersedes: old.ID}); err != nil {
		t.Fatal(err)
	}
	revoked := e.issuePassport("880101300123")
	e.do("POST", "/v1/documents/"+revoked.ID+"/revoke", e.admin, map[string]string{"reason": "қате берілген"}).expect(t, 200)
	forged := []byte(genuine.Token)
	forged[30] ^= 2

	cases := []struct {
		token  string
		kk, ru string
	}{
		{genuine.Token, "ТҮПНҰСҚА", "ПОДЛИННЫЙ"},
		{old.Token, "АУЫСТЫРЫЛҒАН", "ЗАМЕНЁН"},
		{revoked.Token, "КҮШІ ЖОЙЫЛҒАН", "ОТОЗВАН"},
		{string(forged), "ТҮПНҰСҚА ЕМЕС", "НЕ ПОДЛИННЫЙ"},
	}
	for _, c := range cases {
		for lang, want := range map[string]string{"kk": c.kk, "ru": c.ru} {
			dom := renderDOM(t, bin, e.base+"/v/"+c.token+"?lang="+lang)
			if !strings.Contains(dom, `<h1 id="status">`+want+`</h1>`) {
				t.Errorf("%s page of %.12s… shows no %q:\n%s", lang, c.token, want, dom)
			}
		}
	}
	// Without ?lang, a Russian phone gets the Russian page.
	dom := renderDOM(t, bin, e.base+"/v/"+genuine.Token, "--lang=ru-RU", "--accept-lang=ru-RU,ru")
	if !strings.Contains(dom, "ПОДЛИННЫЙ") {
		t.Errorf("a Russian browser did not get the Russian page")
	}
	if dir := os.Getenv("VETFIELD_SCREENSHOTS"); dir != "" {
		renderDOM(t, bin, e.base+"/v/"+genuine.Token+"?lang=kk", "--screenshot="+dir+"/verify-kk.png", "--window-size=412,860")
		renderDOM(t, bin, e.base+"/v/"+revoked.Token+"?lang=ru", "--screenshot="+dir+"/verify-revoked-ru.png", "--window-size=412,860")
	}
}
