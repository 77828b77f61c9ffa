package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
)

// access says who may call an operation: anyone (public), or authenticated users of the given
// roles (any role when roles is empty).
type access struct {
	public bool
	// limited public operations are rate-limited per client address.
	limited bool
	roles   []domain.Role
	// lab admits the laboratory role to a route open to any account: a laboratory has neither a
	// territory nor an IIN, so it is kept to the routes it needs (its cases, its own account) and
	// never reaches a list scoped by territory, where "no territory" would mean the republic.
	lab bool
}

const accessKey = "vetfield.access"

var (
	public        = access{public: true}
	publicLimited = access{public: true, limited: true}
	authenticated = access{}
	// anyAccount is authenticated with the laboratory role admitted too.
	anyAccount = access{lab: true}
)

func roles(r ...domain.Role) access { return access{roles: r} }

// String says who may call an operation, for the route table.
func (a access) String() string {
	switch {
	case a.public && a.limited:
		return "public, rate-limited"
	case a.public:
		return "public"
	case len(a.roles) == 0 && a.lab:
		return "any account"
	case len(a.roles) == 0:
		return "any account but laboratory"
	}
	names := make([]string, len(a.roles))
	for i, r := range a.roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func (a access) allows(r domain.Role) bool {
	if len(a.roles) == 0 {
		return r != domain.RoleLaboratory || a.lab
	}
	for _, x := range a.roles {
		if x == r {
			return true
		}
	}
	return false
}

type principalKey struct{}

type userKey struct{}

// caller returns the account of the authenticated caller, as authenticate read it for this
// request, so a handler that needs more than the Principal does not read it again.
func caller(ctx context.Context) *accounts.User {
	u, _ := ctx.Value(userKey{}).(*accounts.User)
	return u
}

// principal returns the authenticated caller; operations that are not public always have one.
func principal(ctx context.Context) domain.Principal {
	p, _ := ctx.Value(principalKey{}).(domain.Principal)
	return p
}

// clockSkew is how far a tablet's clock may drift from the server's: tokens are accepted that
// far past their expiry and before their issue time.
const clockSkew = 2 * time.Minute

// accessClaims are the claims of an access token. The role and territory are informational for
// clients; the server always reads the current account.
type accessClaims struct {
	jwt.RegisteredClaims
	Role      domain.Role `json:"role"`
	Territory domain.Kato `json:"territory,omitempty"`
	// Epoch is the account's SessionEpoch: a token of an older epoch is refused at once.
	Epoch int64 `json:"sep,omitempty"`
}

// mintAccess signs an access token for u with the current key (EdDSA, with its kid).
func (s *Server) mintAccess(u *accounts.User) (string, error) {
	now := s.Now()
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.Issuer,
			Audience:  jwt.ClaimStrings{s.Audience},
			Subject:   u.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.AccessTTL)),
			ID:        domain.NewID(),
		},
		Role:      u.Role,
		Territory: u.Territory,
		Epoch:     u.SessionEpoch,
	}
	key := s.Keys.Current()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.ID
	signed, err := t.SignedString(key.Private)
	if err != nil {
		return "", domain.Internal("sign access token", err)
	}
	return signed, nil
}

var errBadToken = &domain.Error{Code: domain.EUNAUTHORIZED, Message: "a valid bearer token is required"}

// parseAccess verifies an access token: EdDSA only (so "none" and HMAC tokens signed with a public
// key are refused), a known kid, exp required, iss and aud checked, two minutes of clock skew.
func (s *Server) parseAccess(token string) (*accessClaims, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(s.Issuer),
		jwt.WithAudience(s.Audience),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(s.Now),
	)
	claims := &accessClaims{}
	_, err := parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		pub, ok := s.Keys.Public(kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return ed25519.PublicKey(pub), nil
	})
	if err != nil || claims.Subject == "" {
		return nil, errBadToken
	}
	return claims, nil
}

// authenticate is the huma middleware that enforces each operation's access rule. It resolves
// the bearer token to the current account, so a disabled account or a changed role takes effect
// at once rather than when the token expires.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	rule, _ := ctx.Operation().Metadata[accessKey].(access)
	fail := func(err error) {
		var de *domain.Error
		if errors.As(err, &de) && de.RetryAfterSeconds > 0 {
			ctx.SetHeader("Retry-After", strconv.Itoa(de.RetryAfterSeconds))
		}
		var se *huma.ErrorModel
		if !errors.As(s.problem(ctx.Context(), err), &se) {
			se = &huma.ErrorModel{Status: 500, Detail: "internal error"}
		}
		if se.Status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="vetfield"`)
		}
		_ = huma.WriteErr(s.api, ctx, se.Status, se.Detail, errorsOf(se)...)
	}
	if rule.limited {
		if err := s.rateLimit(ctx); err != nil {
			fail(err)
			return
		}
	}
	if rule.public {
		next(ctx)
		return
	}
	h := ctx.Header("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		fail(errBadToken)
		return
	}
	claims, err := s.parseAccess(strings.TrimSpace(token))
	if err != nil {
		fail(err)
		return
	}
	u, err := s.Accounts.Get(ctx.Context(), claims.Subject)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && (u.Disabled || u.SessionEpoch != claims.Epoch)) {
		fail(errBadToken)
		return
	} else if err != nil {
		fail(err)
		return
	}
	p := u.Principal()
	if !rule.allows(p.Role) {
		fail(domain.Errorf(domain.EFORBIDDEN, "this operation is not for the %s role", p.Role))
		return
	}
	next(huma.WithValue(huma.WithValue(ctx, principalKey{}, p), userKey{}, u))
}

func errorsOf(p *huma.ErrorModel) []error {
	out := make([]error, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e
	}
	return out
}

// TokenPair is what login and refresh answer.
type TokenPair struct {
	AccessToken  string `json:"access_token" doc:"JWT (EdDSA) for the Authorization: Bearer header."`
	RefreshToken string `json:"refresh_token" doc:"Opaque; spend it once at /v1/auth/refresh."`
	TokenType    string `json:"token_type" example:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires."`
}

type loginInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"64"`
		Password string `json:"password" minLength:"1" maxLength:"256"`
	}
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"200"`
	}
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         TokenPair
}

func (s *Server) registerAuth() {
	register(s, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/v1/auth/login", Tags: []string{"auth"},
		Summary:     "Log in with a username and password",
		Description: "After 5 failed attempts for one account within 15 minutes, further attempts get 429 with Retry-After.",
		Errors:      []int{401, 429},
	}, public, s.login)
	register(s, huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/v1/auth/refresh", Tags: []string{"auth"},
		Summary: "Exchange a refresh token for a new pair",
		Description: "Each refresh token can be spent once. Presenting a spent one revokes the whole session, " +
			"except a retry with the immediately previous token within 60 s, which answers the pair that was lost.",
		Errors: []int{401},
	}, public, s.refresh)
	register(s, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/v1/auth/logout", Tags: []string{"auth"},
		Summary: "End the session a refresh token belongs to", DefaultStatus: http.StatusNoContent,
		Errors: []int{401},
	}, public, s.logout)
	register(s, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/v1/me", Tags: []string{"auth"},
		Summary: "The caller's own account",
	}, anyAccount, s.me)
}

// login answers POST /v1/auth/login.
func (s *Server) login(ctx context.Context, in *loginInput) (*tokenOutput, error) {
	u, err := s.Accounts.Authenticate(ctx, strings.ToLower(in.Body.Username), in.Body.Password)
	if err != nil {
		return nil, err
	}
	refresh, err := s.Sessions.Start(ctx, u)
	if err != nil {
		return nil, err
	}
	return s.tokenPair(u, refresh)
}

// refresh answers POST /v1/auth/refresh.
func (s *Server) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	userID, next, err := s.Sessions.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, err
	}
	u, err := s.Accounts.Get(ctx, userID)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && u.Disabled) {
		return nil, &domain.Error{Code: domain.EUNAUTHORIZED, Message: "the account is disabled"}
	} else if err != nil {
		return nil, err
	}
	return s.tokenPair(u, next)
}

func (s *Server) tokenPair(u *accounts.User, refresh string) (*tokenOutput, error) {
	access, err := s.mintAccess(u)
	if err != nil {
		return nil, err
	}
	return &tokenOutput{CacheControl: "no-store", Body: TokenPair{AccessToken: access, RefreshToken: refresh,
		TokenType: "Bearer", ExpiresIn: int(s.AccessTTL / time.Second)}}, nil
}

// logout answers POST /v1/auth/logout.
func (s *Server) logout(ctx context.Context, in *refreshInput) (*struct{}, error) {
	return nil, s.Sessions.Logout(ctx, in.Body.RefreshToken)
}

type userOutput struct {
	ETag string `header:"ETag"`
	Body UserView
}

// me answers GET /v1/me.
func (s *Server) me(ctx context.Context, _ *struct{}) (*userOutput, error) {
	return viewUser(caller(ctx)), nil
}

// UserView is an account as the API shows it: never its password hash.
type UserView struct {
	ID         string      `json:"id"`
	Username   string      `json:"username"`
	Role       domain.Role `json:"role" enum:"admin,vet,inspector,farmer,head,oblast_inspection,sanitary_inspector,laboratory"`
	Territory  string      `json:"territory,omitempty" doc:"KATO code of the area a vet or inspector works in."`
	IIN        string      `json:"iin,omitempty" doc:"A farmer's IIN or BIN."`
	FullName   string      `json:"full_name,omitempty"`
	Disabled   bool        `json:"disabled"`
	ScopeEpoch int64       `json:"scope_epoch" doc:"Grows when the role or territory changes: tablets must resync."`
	Version    int64       `json:"version"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

func viewUser(u *accounts.User) *userOutput {
	return &userOutput{ETag: `"` + strconv.FormatInt(u.Version, 10) + `"`, Body: UserView{
		ID: u.ID, Username: u.Username, Role: u.Role, Territory: string(u.Territory), IIN: string(u.IIN),
		FullName: u.FullName, Disabled: u.Disabled, ScopeEpoch: u.ScopeEpoch, Version: u.Version,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}}
}
