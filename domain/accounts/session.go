package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// A session is a family of refresh tokens that descend from one login. Each use of a refresh
// token rotates it: the family moves to the next generation and the old token is spent.
//
// Tokens are not stored. A token is "<family>.<generation>.<mac>", where the MAC is an HMAC of
// the family and generation under a server key; the store keeps only the family's current
// generation. That makes a lost response cheap to repair: a tablet that retries with the
// immediately previous token within RefreshGrace gets the very pair it lost (the server can
// recompute it), while presenting any older token is a replay and revokes the whole family.

// Session policy.
const (
	RefreshGrace = 60 * time.Second
	// DefaultRefreshTTL is how long a session lives without being used: a tablet may stay offline
	// for weeks in remote pastures.
	DefaultRefreshTTL = 30 * 24 * time.Hour
)

// Session is one family of refresh tokens.
type Session struct {
	domain.Meta
	UserID string `json:"user_id"`
	// Epoch is the account's SessionEpoch when the session began; a later epoch ends it.
	Epoch      int64     `json:"epoch"`
	Generation int64     `json:"generation"`
	RotatedAt  time.Time `json:"rotated_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	CreatedAt  time.Time `json:"created_at"`
	Revoked    bool      `json:"revoked"`
	// RevokeReason says why: "logout" or "reuse".
	RevokeReason string `json:"revoke_reason,omitempty"`
}

// SessionsSpec declares the sessions collection.
var SessionsSpec = domain.CollectionSpec{
	Name:    "sessions",
	Indexes: []domain.Index{{Name: "sessions_user", Fields: []string{"user_id"}}},
}

// Sessions issues, rotates and revokes refresh tokens.
type Sessions struct {
	Store domain.Store
	Now   domain.Clock
	// Key signs refresh tokens; every process of a deployment must share it.
	Key []byte
	TTL time.Duration
}

func encodeToken(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *Sessions) token(family string, gen int64) string {
	fg := family + "." + strconv.FormatInt(gen, 10)
	mac := hmac.New(sha256.New, s.Key)
	mac.Write([]byte(fg))
	return fg + "." + encodeToken(mac.Sum(nil))
}

// parse checks a token's MAC and returns its family and generation.
func (s *Sessions) parse(token string) (string, int64, bool) {
	if len(token) > 200 {
		return "", 0, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", 0, false
	}
	gen, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || gen < 1 {
		return "", 0, false
	}
	if !hmac.Equal([]byte(s.token(parts[0], gen)), []byte(token)) {
		return "", 0, false
	}
	return parts[0], gen, true
}

var errBadRefresh = &domain.Error{Code: domain.EUNAUTHORIZED, Message: "the refresh token is not valid; log in again"}

// Start opens a session for u and returns its first refresh token.
func (s *Sessions) Start(ctx context.Context, u *User) (string, error) {
	now := s.Now().UTC()
	sess := &Session{Meta: domain.Meta{ID: encodeToken(domain.RandomToken(16))}, UserID: u.ID, Epoch: u.SessionEpoch, Generation: 1,
		RotatedAt: now, ExpiresAt: now.Add(s.TTL), CreatedAt: now}
	if err := domain.InsertEntity(ctx, s.Store, SessionsSpec.Name, sess, nil); err != nil {
		return "", err
	}
	return s.token(sess.ID, 1), nil
}

// Refresh spends token and returns the session's user and the next refresh token. See the comment
// at the top of this file for the rules.
func (s *Sessions) Refresh(ctx context.Context, token string) (userID, next string, err error) {
	family, gen, ok := s.parse(token)
	if !ok {
		return "", "", errBadRefresh
	}
	for range 5 {
		sess, err := domain.GetEntity[Session](ctx, s.Store, SessionsSpec.Name, family)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return "", "", errBadRefresh
		} else if err != nil {
			return "", "", err
		}
		now := s.Now().UTC()
		switch {
		case sess.Revoked || now.After(sess.ExpiresAt):
			return "", "", errBadRefresh
		case !s.current(ctx, sess):
			// The password, the role or the territory changed, or the account was disabled,
			// since the session began: it ends here for good.
			if err := s.revoke(ctx, family, "account changed"); err != nil {
				return "", "", err
			}
			return "", "", errBadRefresh
		case gen == sess.Generation:
			sess.Generation++
			sess.RotatedAt = now
			sess.ExpiresAt = now.Add(s.TTL)
			err := domain.UpdateEntity(ctx, s.Store, SessionsSpec.Name, sess, nil)
			if domain.IsCode(err, domain.ECONFLICT) {
				continue // a concurrent refresh won; look again
			}
			if err != nil {
				return "", "", err
			}
			return sess.UserID, s.token(family, sess.Generation), nil
		case gen == sess.Generation-1 && now.Sub(sess.RotatedAt) <= RefreshGrace:
			// The previous response was lost: answer the same next token again.
			return sess.UserID, s.token(family, sess.Generation), nil
		default:
			// An already-spent token: somebody replays it. Revoke the family.
			if err := s.revoke(ctx, family, "reuse"); err != nil {
				return "", "", err
			}
			return "", "", errBadRefresh
		}
	}
	return "", "", domain.Busy("the session is being refreshed concurrently; try again")
}

// Logout revokes the family of token. An invalid token is EUNAUTHORIZED.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	family, _, ok := s.parse(token)
	if !ok {
		return errBadRefresh
	}
	return s.revoke(ctx, family, "logout")
}

func (s *Sessions) revoke(ctx context.Context, family, reason string) error {
	return domain.RetryCAS(ctx, func() error {
		sess, err := domain.GetEntity[Session](ctx, s.Store, SessionsSpec.Name, family)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return errBadRefresh
		} else if err != nil {
			return err
		}
		if sess.Revoked {
			return nil
		}
		sess.Revoked, sess.RevokeReason = true, reason
		return domain.UpdateEntity(ctx, s.Store, SessionsSpec.Name, sess, nil)
	}, "the session is changing concurrently; try again")
}

// current reports whether sess still belongs to its account as it is: the account exists, is
// enabled, and has not changed its password, role or territory since the session began.
func (s *Sessions) current(ctx context.Context, sess *Session) bool {
	u, err := domain.GetEntity[User](ctx, s.Store, UsersSpec.Name, sess.UserID)
	return err == nil && !u.Disabled && u.SessionEpoch == sess.Epoch
}
