package api_test

import (
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/keyring"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet1", "password": "vet-password-1", "role": "vet", "territory": "314000000"})

	t.Run("OK", func(t *testing.T) {
		pair := e.login("vet1", "vet-password-1")
		if pair.AccessToken == "" || pair.RefreshToken == "" || pair.ExpiresIn != 900 || pair.TokenType != "Bearer" {
			t.Fatalf("login answered %+v", pair)
		}
		var me api.UserView
		e.do("GET", "/v1/me", pair.AccessToken, nil).expect(t, 200).JSON(t, &me)
		if me.Username != "vet1" || me.Role != "vet" || me.Territory != "314000000" {
			t.Errorf("/v1/me = %+v", me)
		}
		if strings.Contains(string(e.do("GET", "/v1/me", pair.AccessToken, nil).Body), "password") {
			t.Error("/v1/me shows the password hash")
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		p := e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet1", "password": "nope"}).expectProblem(t, 401)
		q := e.do("POST", "/v1/auth/login", "", map[string]string{"username": "nobody", "password": "nope"}).expectProblem(t, 401)
		if p.Detail != q.Detail {
			t.Errorf("an unknown user (%q) and a wrong password (%q) answer differently", q.Detail, p.Detail)
		}
	})

	t.Run("ThrottledThenRecovers", func(t *testing.T) {
		e.createUser(map[string]any{"username": "vet2", "password": "vet-password-2", "role": "vet", "territory": "314000000"})
		for i := range 5 {
			e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet2", "password": "wrong" + strconv.Itoa(i)}).expect(t, 401)
			e.clock.Advance(time.Minute)
		}
		// Even the right password is refused while throttled, or guessing would go on.
		r := e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet2", "password": "vet-password-2"})
		r.expectProblem(t, 429)
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || wait <= 0 || wait > 15*60 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		// The first failure was at 0:00 and the window is 15 minutes; it is now 0:05.
		if want := 10 * 60; wait != want {
			t.Errorf("Retry-After = %d, want %d", wait, want)
		}
		e.clock.Advance(time.Duration(wait) * time.Second)
		e.login("vet2", "vet-password-2")
		// Another account was never throttled.
		e.login("vet1", "vet-password-1")
	})
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.login("admin", adminPassword)
	refresh := func(token string) response {
		return e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": token})
	}

	var second api.TokenPair
	refresh(first.RefreshToken).expect(t, 200).JSON(t, &second)
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	e.do("GET", "/v1/me", second.AccessToken, nil).expect(t, 200)

	t.Run("RetryWithin60s", func(t *testing.T) {
		// The tablet lost the answer to its refresh and retries with the same token.
		e.clock.Advance(30 * time.Second)
		var again api.TokenPair
		refresh(first.RefreshToken).expect(t, 200).JSON(t, &again)
		if again.RefreshToken != second.RefreshToken {
			t.Errorf("the retry answered another refresh token than the lost one")
		}
		e.do("GET", "/v1/me", again.AccessToken, nil).expect(t, 200)
	})

	var third api.TokenPair
	refresh(second.RefreshToken).expect(t, 200).JSON(t, &third)

	t.Run("ReuseRevokesFamily", func(t *testing.T) {
		e.clock.Advance(61 * time.Second)
		refresh(second.RefreshToken).expectProblem(t, 401) // spent, outside the grace period
		refresh(third.RefreshToken).expectProblem(t, 401)  // the whole family is gone
		// Another session of the same user is unaffected.
		other := e.login("admin", adminPassword)
		refresh(other.RefreshToken).expect(t, 200)
	})

	t.Run("OlderThanPreviousRevokes", func(t *testing.T) {
		a := e.login("admin", adminPassword)
		var b, c api.TokenPair
		refresh(a.RefreshToken).expect(t, 200).JSON(t, &b)
		refresh(b.RefreshToken).expect(t, 200).JSON(t, &c)
		refresh(a.RefreshToken).expectProblem(t, 401) // two generations back, even within 60 s
		refresh(c.RefreshToken).expectProblem(t, 401)
	})

	t.Run("Logout", func(t *testing.T) {
		a := e.login("admin", adminPassword)
		e.do("POST", "/v1/auth/logout", "", map[string]string{"refresh_token": a.RefreshToken}).expect(t, 204)
		refresh(a.RefreshToken).expectProblem(t, 401)
	})

	t.Run("Forged", func(t *testing.T) {
		for _, bad := range []string{"x", "a.b.c", first.RefreshToken + "x", strings.Replace(third.RefreshToken, ".", ".9", 1)} {
			refresh(bad).expectProblem(t, 401)
		}
	})

	t.Run("ConcurrentRetries", func(t *testing.T) {
		// A flaky link sends the same refresh several times at once: all get the same next token.
		a := e.login("admin", adminPassword)
		var wg sync.WaitGroup
		tokens := make([]string, 4)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var p api.TokenPair
				refresh(a.RefreshToken).expect(t, 200).JSON(t, &p)
				tokens[i] = p.RefreshToken
			}()
		}
		wg.Wait()
		for _, tok := range tokens[1:] {
			if tok != tokens[0] {
				t.Fatalf("concurrent retries got different refresh tokens: %v", tokens)
			}
		}
	})
}

func TestBadAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vet := e.createUser(map[string]any{"username": "vet1", "password": "vet-password-1", "role": "vet", "territory": "314000000"})
	key := e.keys.Current()
	now := e.clock.Now()
	claims := func(mod func(c jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "vetfield", "aud": "vetfield-api", "sub": vet.ID, "role": "admin",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = key.ID
		s, err := tok.SignedString(key.Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The well-formed token works, so the failures below are for the reason named.
	e.do("GET", "/v1/me", sign(claims(nil)), nil).expect(t, 200)
	// Two minutes of clock skew are allowed.
	e.do("GET", "/v1/me", sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-90 * time.Second).Unix() })), nil).expect(t, 200)

	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hs.Header["kid"] = key.ID
	hsWithPublicKey, err := hs.SignedString([]byte(key.Public))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := keyring.Generate()
	unknownKey := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
	unknownKey.Header["kid"] = other.ID
	signedByUnknown, _ := unknownKey.SignedString(other.Private)
	sameKidOtherKey := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
	sameKidOtherKey.Header["kid"] = key.ID
	resigned, _ := sameKidOtherKey.SignedString(other.Private)

	valid := sign(claims(nil))
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), vet.ID, "someone-else", 1)))
	tampered := strings.Join(parts, ".")

	bad := map[string]string{
		"alg none":              none,
		"HS256 with public key": hsWithPublicKey,
		"expired":               sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-3 * time.Minute).Unix() })),
		"no exp":                sign(claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong aud":             sign(claims(func(c jwt.MapClaims) { c["aud"] = "another-api" })),
		"wrong iss":             sign(claims(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"tampered payload":      tampered,
		"unknown key":           signedByUnknown,
		"re-signed, same kid":   resigned,
		"unknown subject":       sign(claims(func(c jwt.MapClaims) { c["sub"] = "no-such-user" })),
		"garbage":               "not.a.token",
		"empty":                 "",
	}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/v1/me", tok, nil)
			r.expectProblem(t, 401)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("disabled user", func(t *testing.T) {
		pair := e.login("vet1", "vet-password-1")
		e.do("GET", "/v1/me", pair.AccessToken, nil).expect(t, 200)
		e.do("PATCH", "/v1/users/"+vet.ID, e.admin, map[string]any{"disabled": true}).expect(t, 200)
		e.do("GET", "/v1/me", pair.AccessToken, nil).expectProblem(t, 401)
		e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken}).expectProblem(t, 401)
		e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet1", "password": "vet-password-1"}).expectProblem(t, 401)
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "farmer1", "password": "farmer-password", "role": "farmer", "iin": "880101300123"})
	e.createUser(map[string]any{"username": "vet1", "password": "vet-password-1", "role": "vet", "territory": "314000000"})
	for _, who := range []struct{ user, pass string }{{"farmer1", "farmer-password"}, {"vet1", "vet-password-1"}} {
		tok := e.login(who.user, who.pass).AccessToken
		for _, route := range []struct{ method, path string }{{"GET", "/v1/users"}, {"POST", "/v1/users"}, {"PATCH", "/v1/users/x"}} {
			var body any
			if route.method != "GET" {
				body = map[string]any{}
			}
			e.do(route.method, route.path, tok, body).expectProblem(t, 403)
		}
		e.do("GET", "/v1/me", tok, nil).expect(t, 200)
	}
	// No token at all is 401, not 403.
	e.do("GET", "/v1/users", "", nil).expectProblem(t, 401)
}

// TestParallelGuessesAreThrottled: thirty wrong passwords sent at once check at most five of them;
// the rest are refused as throttled without a check.
func TestParallelGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet3", "password": "vet-password-3", "role": "vet", "territory": "314000000"})
	var wg sync.WaitGroup
	statuses := make(chan int, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet3", "password": "guess" + strconv.Itoa(i)}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[401] > accounts.LoginMaxFailures || count[401]+count[429] != 30 {
		t.Errorf("30 parallel guesses answered %v: at most %d may be checked", count, accounts.LoginMaxFailures)
	}
}

// TestAccountChangesEndSessions: a new password, a disable (and the enable after it) and a change
// of role or territory end every session of the account: its refresh tokens and its access tokens.
func TestAccountChangesEndSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, change := range map[string][]map[string]any{
		"Password":        {{"password": "another-password-1"}},
		"DisableEnable":   {{"disabled": true}, {"disabled": false}},
		"Territory":       {{"territory": "313200000"}},
		"Role":            {{"role": "inspector"}},
		"NameOnlyKeepsIt": {{"full_name": "Марат Оспанов"}},
	} {
		t.Run(name, func(t *testing.T) {
			username := "vet-" + strings.ToLower(name)
			u := e.createUser(map[string]any{"username": username, "password": "vet-password-1", "role": "vet", "territory": "314000000"})
			pair := e.login(username, "vet-password-1")
			for _, body := range change {
				e.do("PATCH", "/v1/users/"+u.ID, e.admin, body).expect(t, 200)
			}
			keeps := name == "NameOnlyKeepsIt"
			refresh := e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken})
			me := e.do("GET", "/v1/me", pair.AccessToken, nil)
			if keeps {
				refresh.expect(t, 200)
				me.expect(t, 200)
				return
			}
			refresh.expectProblem(t, 401)
			me.expectProblem(t, 401)
		})
	}
}

// TestParallelCorrectLoginsAllPass: the slots that bound guesses do not refuse an account's
// correct logins made at once (several tablets of one account after a restart): they wait their
// turn.
func TestParallelCorrectLoginsAllPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet4", "password": "vet-password-4", "role": "vet", "territory": "314000000"})
	var wg sync.WaitGroup
	statuses := make(chan int, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.do("POST", "/v1/auth/login", "", map[string]string{"username": "vet4", "password": "vet-password-4"}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("a correct login answered %d", s)
		}
	}
}
