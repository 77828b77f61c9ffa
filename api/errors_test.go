package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestProblems checks that every class of error answers the RFC 9457 shape and never Go text.
func TestProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"unknown route", "GET", "/v1/nowhere", nil, 404},
		{"unknown route outside v1", "GET", "/wp-admin", nil, 404},
		{"wrong method", "DELETE", "/v1/auth/login", nil, 405},
		{"oversized body", "POST", "/v1/users", `{"username":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"malformed JSON", "POST", "/v1/users", `{"username": "x",`, 400},
		{"unknown field", "POST", "/v1/users", `{"username":"vet9","password":"long-enough-1","role":"vet","territory":"313200000","extra":1}`, 422},
		{"failed validation", "POST", "/v1/users", `{"username":"vet9","password":"long-enough-1","role":"vet","territory":"abc"}`, 422},
		{"wrong type", "POST", "/v1/users", `{"username":7}`, 422},
		{"not found", "GET", "/v1/users/missing", nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, e.admin, c.body)
			p := r.expectProblem(t, c.status)
			for _, leak := range []string{"goroutine", ".go:", "sqlite", "SQL", "runtime error"} {
				if strings.Contains(string(r.Body), leak) {
					t.Errorf("the problem leaks %q: %s", leak, r.Body)
				}
			}
			_ = p
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/livez", "", nil, "X-Request-ID", "tablet-42.req-7")
	if got := r.Header.Get("X-Request-ID"); got != "tablet-42.req-7" {
		t.Errorf("X-Request-ID echoed as %q", got)
	}
	r = e.do("GET", "/livez", "", nil, "X-Request-ID", "bad id with spaces <script>")
	if got := r.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \n") {
		t.Errorf("an unsafe X-Request-ID was echoed or none was made: %q", got)
	}
	e.do("GET", "/v1/me", e.admin, nil, "X-Request-ID", "trace-me-123").expect(t, 200)
	if !strings.Contains(e.logText(), `"request_id":"trace-me-123"`) {
		t.Errorf("the log has no line with the request id:\n%s", e.logText())
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/livez", "", nil).expect(t, 200)
	e.do("GET", "/readyz", "", nil).expect(t, 200)

	e.do("GET", "/v1/me", e.admin, nil).expect(t, 200)
	e.do("GET", "/v1/users/abc", e.admin, nil).expect(t, 404)
	metrics := e.metrics()
	for _, want := range []string{
		`vetfield_http_requests_total{method="GET",route="/v1/me",status="200"} 1`,
		`vetfield_http_requests_total{method="GET",route="/v1/users/:id",status="404"} 1`,
		`vetfield_http_request_duration_seconds_bucket{method="GET",route="/v1/me"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	t.Run("OpenAPI", func(t *testing.T) {
		var spec struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		e.do("GET", "/openapi.json", "", nil).expect(t, 200).JSON(t, &spec)
		if !strings.HasPrefix(spec.OpenAPI, "3.1") {
			t.Errorf("openapi %q, want 3.1", spec.OpenAPI)
		}
		for _, r := range e.srv.App().GetRoutes(true) {
			if !strings.HasPrefix(r.Path, "/v1/") || r.Method == "HEAD" {
				continue
			}
			path := r.Path
			for _, p := range r.Params {
				path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
			}
			if _, ok := spec.Paths[path][strings.ToLower(r.Method)]; !ok {
				t.Errorf("%s %s is not in /openapi.json", r.Method, path)
			}
		}
		docs := string(e.do("GET", "/docs", "", nil).expect(t, 200).Body)
		if !strings.Contains(docs, "/openapi.json") {
			t.Errorf("/docs does not point at the description")
		}
		for path := range spec.Paths {
			if !strings.Contains(docs, path) {
				t.Errorf("/docs does not describe %s", path)
			}
		}
		if strings.Contains(docs, "<script") || strings.Contains(docs, "https://") {
			t.Error("/docs loads something from elsewhere: it must read without internet")
		}
	})

	t.Run("ReadyzWhenDatabaseIsDown", func(t *testing.T) {
		e.store.Close()
		r := e.do("GET", "/readyz", "", nil)
		r.expect(t, 503)
		var p map[string]any
		if err := json.Unmarshal(r.Body, &p); err != nil || p["status"] != float64(503) {
			t.Errorf("readyz body %s", r.Body)
		}
		e.do("GET", "/livez", "", nil).expect(t, 200)
	})
}
