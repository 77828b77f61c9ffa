package accounts

import (
	"context"
	"math"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Login throttling: after LoginMaxFailures failed logins for one account within LoginWindow,
// further attempts are refused until the oldest failure leaves the window. The failures are kept
// in the store, not in process memory, so several vetfield processes behind a load balancer
// throttle together.
const (
	LoginMaxFailures = 5
	LoginWindow      = 15 * time.Minute
)

// LoginFailures records recent failed logins of one username.
type LoginFailures struct {
	domain.Meta
	// At holds the times of failures within the window, oldest first, in Unix milliseconds.
	At []int64 `json:"at"`
}

// LoginFailuresSpec declares the throttle collection; ids are usernames.
var LoginFailuresSpec = domain.CollectionSpec{Name: "login_failures"}

// recent drops failures that left the window.
func (f *LoginFailures) recent(now time.Time) []int64 {
	cut := now.Add(-LoginWindow).UnixMilli()
	keep := f.At[:0:0]
	for _, t := range f.At {
		if t > cut {
			keep = append(keep, t)
		}
	}
	return keep
}

// reserve takes one attempt of the account's allowance before its password is checked, in one
// compare-and-swap on the account's record, so that parallel guesses — from one process or many
// behind a load balancer — check at most LoginMaxFailures passwords in a window: each guess must
// win a slot first. It returns how long to wait when no slot is left. A slot a correct login took
// is given back (release); a failed one stays, as the failure. When the record cannot be won for
// contention the attempt is refused as throttled: a flood of guesses must not get through.
func (a *Accounts) reserve(ctx context.Context, username string) (time.Duration, error) {
	var wait time.Duration
	err := domain.RetryCAS(ctx, func() error {
		now := a.Now()
		f, err := domain.GetEntity[LoginFailures](ctx, a.Store, LoginFailuresSpec.Name, username)
		if domain.IsCode(err, domain.ENOTFOUND) {
			f = &LoginFailures{Meta: domain.Meta{ID: username}, At: []int64{now.UnixMilli()}}
			return domain.Again(domain.InsertEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil))
		} else if err != nil {
			return err
		}
		recent := f.recent(now)
		if len(recent) >= LoginMaxFailures {
			// The attempt is allowed again when enough failures have aged out of the window.
			oldest := recent[len(recent)-LoginMaxFailures]
			wait = time.UnixMilli(oldest).Add(LoginWindow).Sub(now)
			return nil
		}
		f.At = append(recent, now.UnixMilli())
		return domain.UpdateEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil)
	}, "too many logins at once for this account")
	if domain.IsTemporary(err) {
		return LoginWindow, nil
	}
	return wait, err
}

// release forgets the account's failures after a correct login, the slot it took included.
func (a *Accounts) release(ctx context.Context, username string) error {
	err := domain.RetryCAS(ctx, func() error {
		f, err := domain.GetEntity[LoginFailures](ctx, a.Store, LoginFailuresSpec.Name, username)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return nil
		} else if err != nil {
			return err
		}
		if len(f.At) == 0 {
			return nil
		}
		f.At = nil
		return domain.UpdateEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil)
	}, "too many logins at once for this account")
	if domain.IsTemporary(err) {
		return nil // another login is changing the record; the failures it keeps are old
	}
	return err
}

var errBadLogin = &domain.Error{Code: domain.EUNAUTHORIZED, Message: "wrong username or password"}

// Authenticate checks a username and password. It answers ETOOMANY with RetryAfterSeconds while
// the account is throttled, and the same EUNAUTHORIZED for an unknown user, a wrong password
// and a disabled account, so a caller cannot tell which usernames exist.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (*User, error) {
	if len(username) > 64 || len(password) > MaxPasswordLen {
		return nil, errBadLogin
	}
	wait, err := a.reserve(ctx, username)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, &domain.Error{Code: domain.ETOOMANY, Message: "too many failed logins for this account; try again later",
			RetryAfterSeconds: int(math.Ceil(wait.Seconds()))}
	}
	u, err := a.GetByUsername(ctx, username)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	if u == nil {
		CheckPassword(a.dummyHash, password)
	}
	if u == nil || !CheckPassword(u.PasswordHash, password) || u.Disabled {
		return nil, errBadLogin // the slot reserve took stays, as the failure
	}
	if err := a.release(ctx, username); err != nil {
		return nil, err
	}
	return u, nil
}
