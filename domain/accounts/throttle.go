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

// throttled returns how long to wait, or 0 if a login may be tried now.
func (a *Accounts) throttled(ctx context.Context, username string) (time.Duration, error) {
	f, err := domain.GetEntity[LoginFailures](ctx, a.Store, LoginFailuresSpec.Name, username)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	now := a.Now()
	recent := f.recent(now)
	if len(recent) < LoginMaxFailures {
		return 0, nil
	}
	// The attempt is allowed again when enough failures have aged out of the window.
	oldest := recent[len(recent)-LoginMaxFailures]
	return time.UnixMilli(oldest).Add(LoginWindow).Sub(now), nil
}

// recordFailure adds a failed login for username.
func (a *Accounts) recordFailure(ctx context.Context, username string) error {
	for range 10 {
		now := a.Now()
		f, err := domain.GetEntity[LoginFailures](ctx, a.Store, LoginFailuresSpec.Name, username)
		if domain.IsCode(err, domain.ENOTFOUND) {
			f = &LoginFailures{Meta: domain.Meta{ID: username}, At: []int64{now.UnixMilli()}}
			err = domain.InsertEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil)
		} else if err == nil {
			f.At = append(f.recent(now), now.UnixMilli())
			if len(f.At) > 2*LoginMaxFailures { // keep the record small under a flood
				f.At = f.At[len(f.At)-2*LoginMaxFailures:]
			}
			err = domain.UpdateEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil)
		}
		if !domain.IsCode(err, domain.ECONFLICT) {
			return err
		}
	}
	return nil // under heavy contention other attempts are being recorded anyway
}

// clearFailures forgets failures after a successful login.
func (a *Accounts) clearFailures(ctx context.Context, username string) error {
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
	if err := domain.UpdateEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
		return err
	}
	return nil
}

var errBadLogin = &domain.Error{Code: domain.EUNAUTHORIZED, Message: "wrong username or password"}

// Authenticate checks a username and password. It answers ETOOMANY with RetryAfterSeconds while
// the account is throttled, and the same EUNAUTHORIZED for an unknown user, a wrong password
// and a disabled account, so a caller cannot tell which usernames exist.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (*User, error) {
	if len(username) > 64 || len(password) > MaxPasswordLen {
		return nil, errBadLogin
	}
	wait, err := a.throttled(ctx, username)
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
		if err := a.recordFailure(ctx, username); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	if err := a.clearFailures(ctx, username); err != nil {
		return nil, err
	}
	return u, nil
}
