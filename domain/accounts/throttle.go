package accounts

import (
	"context"
	"errors"
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

// LoginFailures records recent failed logins of one username, and the attempts being checked.
//
// A record lasts only while it throttles: Expires is when it stops saying anything (its last
// failure left the window and its last slot can no longer be running), and the store's Sweep
// removes it then. So a flood of logins under made-up usernames leaves rows for one window, not for
// ever. Since a removed record may be followed by a new one for the same username, each record
// has an id of its own, never reused, and is found by its username through a unique index: a
// compare-and-swap based on a read of a removed record then finds no document (and reads again)
// instead of landing on its successor at the same version.
type LoginFailures struct {
	domain.Meta
	// User is the username tried; one record per username at a time.
	User string `json:"user"`
	// At holds the times of failures within the window, oldest first, in Unix milliseconds.
	At []int64 `json:"at"`
	// Pending holds the slots of attempts whose password is being checked now (reserve), by the
	// time they were taken; a slot older than pendingLife is an attempt whose process died.
	Pending []int64 `json:"pending,omitempty"`
	// Expires is when the record has nothing left to say, in Unix milliseconds.
	Expires int64 `json:"expires"`
}

// LoginFailuresSpec declares the throttle collection. It replaces login_failures, whose ids were
// the usernames and whose rows never went away (a deployment may drop that table).
var LoginFailuresSpec = domain.CollectionSpec{
	Name:    "login_throttle",
	Expires: "expires",
	Indexes: []domain.Index{
		{Name: "throttle_user", Fields: []string{"user"}, Unique: true},
		{Name: "throttle_expires", Fields: []string{"expires"}},
	},
}

// pendingLife bounds how long a slot may stay pending: far longer than a password check takes.
const pendingLife = 30 * time.Second

// waitForSlot is how long an attempt waits for the checks ahead of it to finish when every slot
// is pending, before it is refused as throttled.
const waitForSlot = 5 * time.Second

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

// pending drops slots of attempts that can no longer be running.
func (f *LoginFailures) pending(now time.Time) []int64 {
	cut := now.Add(-pendingLife).UnixMilli()
	keep := f.Pending[:0:0]
	for _, t := range f.Pending {
		if t > cut {
			keep = append(keep, t)
		}
	}
	return keep
}

// expire sets when f stops throttling: the latest of its failures leaving the window and its
// slots' lives ending; now when it holds neither, so the next sweep removes it.
func (f *LoginFailures) expire(now time.Time) {
	f.Expires = now.UnixMilli()
	for _, t := range f.At {
		f.Expires = max(f.Expires, time.UnixMilli(t).Add(LoginWindow).UnixMilli())
	}
	for _, t := range f.Pending {
		f.Expires = max(f.Expires, time.UnixMilli(t).Add(pendingLife).UnixMilli())
	}
}

// loadFailures reads the username's record, or ENOTFOUND.
func (a *Accounts) loadFailures(ctx context.Context, username string) (*LoginFailures, error) {
	return domain.GetEntityBy[LoginFailures](ctx, a.Store, LoginFailuresSpec.Name, "throttle_user", username)
}

// saveFailures writes f back at the version read; a record swept meanwhile is a race to run again.
func (a *Accounts) saveFailures(ctx context.Context, f *LoginFailures, now time.Time) error {
	f.expire(now)
	err := domain.UpdateEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return domain.Again(err)
	}
	return err
}

// errSlotsBusy says every slot is taken by a check still running.
var errSlotsBusy = errors.New("every login slot is being checked")

// reserve takes one of the account's LoginMaxFailures slots before its password is checked, in a
// compare-and-swap on the account's record, so that parallel guesses — from one process or many
// behind a load balancer — check at most LoginMaxFailures passwords in a window: each must win a
// slot first. A slot is pending while its password is checked, and becomes a failure or is given
// back (settle). With every slot failed it returns how long to wait; with some still being
// checked, it waits for them (correct logins in parallel all get through, one after another).
// Contention it cannot win, or a wait that does not end, refuses the attempt as throttled: a
// flood of guesses must not get through.
func (a *Accounts) reserve(ctx context.Context, username string) (slot int64, wait time.Duration, err error) {
	deadline := time.Now().Add(waitForSlot)
	for {
		err = domain.RetryCAS(ctx, func() error {
			now := a.Now()
			slot, wait = now.UnixMilli(), 0
			f, err := a.loadFailures(ctx, username)
			if domain.IsCode(err, domain.ENOTFOUND) {
				// A clash on the username is another attempt's record, inserted first: read again.
				f = &LoginFailures{Meta: domain.Meta{ID: domain.NewID()}, User: username, Pending: []int64{slot}}
				f.expire(now)
				return domain.Again(domain.InsertEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil))
			} else if err != nil {
				return err
			}
			failed, pending := f.recent(now), f.pending(now)
			if len(failed) >= LoginMaxFailures {
				// The attempt is allowed again when enough failures have aged out of the window.
				wait = time.UnixMilli(failed[len(failed)-LoginMaxFailures]).Add(LoginWindow).Sub(now)
				return nil
			}
			if len(failed)+len(pending) >= LoginMaxFailures {
				return errSlotsBusy
			}
			f.At, f.Pending = failed, append(pending, slot)
			return a.saveFailures(ctx, f, now)
		}, "too many logins at once for this account")
		busy := errors.Is(err, errSlotsBusy) || domain.IsTemporary(err)
		switch {
		case busy && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return 0, 0, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			continue
		case busy:
			return 0, LoginWindow, nil
		}
		return slot, wait, err
	}
}

// The ends of a check, for settle.
type outcome int

const (
	loginFailed    outcome = iota // the failure stays, as one of the window's
	loginPassed                   // the account's failures are forgotten
	loginUnchecked                // no password was checked: the slot is only given back
)

// settle ends the check of slot. A check whose settle is lost (the process died) frees its slot
// after pendingLife.
func (a *Accounts) settle(ctx context.Context, username string, slot int64, end outcome) error {
	for deadline := time.Now().Add(waitForSlot); ; {
		err := a.settleOnce(ctx, username, slot, end)
		if !domain.IsTemporary(err) {
			return err
		}
		if time.Now().After(deadline) {
			return nil // the slot frees itself after pendingLife
		}
	}
}

func (a *Accounts) settleOnce(ctx context.Context, username string, slot int64, end outcome) error {
	return domain.RetryCAS(ctx, func() error {
		now := a.Now()
		f, err := a.loadFailures(ctx, username)
		if domain.IsCode(err, domain.ENOTFOUND) && end == loginFailed {
			// The record was swept under a check that outlived its slot: the failure still counts.
			f = &LoginFailures{Meta: domain.Meta{ID: domain.NewID()}, User: username, At: []int64{now.UnixMilli()}}
			f.expire(now)
			return domain.Again(domain.InsertEntity(ctx, a.Store, LoginFailuresSpec.Name, f, nil))
		} else if domain.IsCode(err, domain.ENOTFOUND) {
			return nil // swept: nothing of it throttles any more
		} else if err != nil {
			return err
		}
		pending := f.pending(now)
		for i, p := range pending {
			if p == slot {
				pending = append(pending[:i:i], pending[i+1:]...)
				break
			}
		}
		f.Pending = pending
		switch end {
		case loginFailed:
			f.At = append(f.recent(now), now.UnixMilli())
		case loginPassed:
			f.At = nil
		}
		return a.saveFailures(ctx, f, now)
	}, "too many logins at once for this account")
}

var errBadLogin = &domain.Error{Code: domain.EUNAUTHORIZED, Message: "wrong username or password"}

// Authenticate checks a username and password. It answers ETOOMANY with RetryAfterSeconds while
// the account is throttled, and the same EUNAUTHORIZED for an unknown user, a wrong password
// and a disabled account, so a caller cannot tell which usernames exist.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (*User, error) {
	if len(username) > 64 || len(password) > MaxPasswordLen {
		return nil, errBadLogin
	}
	slot, wait, err := a.reserve(ctx, username)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, &domain.Error{Code: domain.ETOOMANY, Message: "too many failed logins for this account; try again later",
			RetryAfterSeconds: int(math.Ceil(wait.Seconds()))}
	}
	u, err := a.GetByUsername(ctx, username)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		// No password was checked: give the slot back rather than leave it pending.
		a.settle(ctx, username, slot, loginUnchecked)
		return nil, err
	}
	if u == nil {
		CheckPassword(a.dummyHash, password)
	}
	if u == nil || !CheckPassword(u.PasswordHash, password) || u.Disabled {
		if err := a.settle(ctx, username, slot, loginFailed); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	if err := a.settle(ctx, username, slot, loginPassed); err != nil {
		return nil, err
	}
	return u, nil
}
