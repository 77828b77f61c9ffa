package accounts

import (
	"context"
	"regexp"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// User is an account.
type User struct {
	domain.Meta
	Username     string      `json:"username"`
	PasswordHash string      `json:"password_hash"`
	Role         domain.Role `json:"role"`
	// Territory is the KATO code a vet's or inspector's work is limited to (and everything
	// beneath it); empty for an admin of the whole republic and for farmers.
	Territory domain.Kato `json:"territory,omitempty"`
	// IIN identifies a farmer as an owner of holdings and animals.
	IIN      domain.IIN `json:"iin,omitempty"`
	FullName string     `json:"full_name,omitempty"`
	Disabled bool       `json:"disabled"`
	// ScopeEpoch grows whenever the role, territory or IIN changes (any of which decides what the
	// user's tablet may hold), so a tablet syncing under the old scope is told to start over.
	ScopeEpoch int64 `json:"scope_epoch"`
	// SessionEpoch grows whenever the password, the role, the territory or the IIN changes and
	// whenever the account is disabled or enabled: every session and access token of an older
	// epoch is dead, so a stolen token dies with the change and re-enabling brings none back.
	SessionEpoch int64     `json:"session_epoch"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Principal returns who u is for authorisation.
func (u *User) Principal() domain.Principal {
	return domain.Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Territory: u.Territory, IIN: u.IIN}
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// validate checks the account's rules; fields are named as in the API's JSON body.
func (u *User) validate() error {
	if !usernamePattern.MatchString(u.Username) {
		return domain.Invalid("username", "a username is 3 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !u.Role.Valid() {
		return domain.Invalid("role", "role must be one of admin, vet, inspector, farmer, head, oblast_inspection, sanitary_inspector, laboratory")
	}
	switch {
	case u.Role.IsTerritorial() && u.Territory == "":
		return domain.Invalid("territory", "a %s works within a territory: give its KATO code", u.Role)
	case u.Role == domain.RoleFarmer && u.IIN == "":
		return domain.Invalid("iin", "a farmer is identified by an IIN or BIN")
	case u.Role == domain.RoleFarmer && u.Territory != "":
		return domain.Invalid("territory", "a farmer has no territory; access follows ownership")
	case u.Role == domain.RoleLaboratory && (u.Territory != "" || u.IIN != ""):
		return domain.Invalid("territory", "a laboratory has no territory; it sees the cases sent to it")
	case u.Role == domain.RoleOblastDept && u.Territory.Level() != 1:
		return domain.Invalid("territory", "the oblast inspection department works for a whole oblast: give the oblast's KATO code")
	case u.Role == domain.RoleHead && u.Territory.Level() > 2:
		return domain.Invalid("territory", "a head leads the department of a district (or city) or of an oblast")
	}
	return nil
}

// validatePassword checks a new password's length.
func validatePassword(field, pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return domain.Invalid(field, "a password has %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// UsersSpec declares the accounts collection.
var UsersSpec = domain.CollectionSpec{
	Name: "users",
	Indexes: []domain.Index{
		{Name: "users_username", Fields: []string{"username"}, Unique: true},
		{Name: "users_role", Fields: []string{"role", "username"}},
	},
}

// NewUser is what an admin gives to create an account.
type NewUser struct {
	Username  string
	Password  string
	Role      domain.Role
	Territory string
	IIN       string
	FullName  string
}

// UserChange is a partial update of an account; nil fields stay as they are.
type UserChange struct {
	Disabled  *bool
	Role      *domain.Role
	Territory *string
	IIN       *string
	FullName  *string
	Password  *string
}

// Accounts manages users, their passwords, sessions and login throttling.
type Accounts struct {
	Store    domain.Store
	Now      domain.Clock
	Password PasswordParams
	// dummyHash is checked against when a username is unknown, so a login takes as long whether
	// or not the account exists and does not reveal which usernames do.
	dummyHash string
}

// NewAccounts returns Accounts over store.
func NewAccounts(store domain.Store, now domain.Clock, params PasswordParams) *Accounts {
	return &Accounts{Store: store, Now: now, Password: params,
		dummyHash: HashPassword(string(domain.RandomToken(16)), params)}
}

// Create makes a new account. A taken username is ECONFLICT.
func (a *Accounts) Create(ctx context.Context, in NewUser) (*User, error) {
	now := a.Now().UTC()
	u := &User{Meta: domain.Meta{ID: domain.NewID()}, Username: in.Username, Role: in.Role, FullName: in.FullName,
		CreatedAt: now, UpdatedAt: now}
	if err := u.setTerritory(in.Territory); err != nil {
		return nil, err
	}
	if err := u.setIIN(in.IIN); err != nil {
		return nil, err
	}
	if err := u.validate(); err != nil {
		return nil, err
	}
	if err := validatePassword("password", in.Password); err != nil {
		return nil, err
	}
	u.PasswordHash = HashPassword(in.Password, a.Password)
	if err := domain.InsertEntity(ctx, a.Store, UsersSpec.Name, u, nil); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "username", Message: "this username is taken"}
		}
		return nil, err
	}
	return u, nil
}

func (u *User) setTerritory(s string) error {
	if s == "" {
		u.Territory = ""
		return nil
	}
	k, err := domain.ParseKato(s)
	if err != nil {
		return domain.Invalid("territory", "%s", err.(*domain.Error).Message)
	}
	u.Territory = k
	return nil
}

func (u *User) setIIN(s string) error {
	if s == "" {
		u.IIN = ""
		return nil
	}
	n, err := domain.ParseIIN(s)
	if err != nil {
		return domain.Invalid("iin", "%s", err.(*domain.Error).Message)
	}
	u.IIN = n
	return nil
}

// Get returns the account with id.
func (a *Accounts) Get(ctx context.Context, id string) (*User, error) {
	return domain.GetEntity[User](ctx, a.Store, UsersSpec.Name, id)
}

// GetByUsername returns the account named username.
func (a *Accounts) GetByUsername(ctx context.Context, username string) (*User, error) {
	return domain.GetEntityBy[User](ctx, a.Store, UsersSpec.Name, "users_username", username)
}

// UserFilter selects accounts to list.
type UserFilter struct {
	Role  domain.Role
	After string
	Limit int
}

// List pages through accounts by username, optionally of one role.
func (a *Accounts) List(ctx context.Context, f UserFilter) ([]*User, string, error) {
	q := domain.Query{Index: "users_username", After: f.After, Limit: f.Limit}
	if f.Role != "" {
		q = domain.Query{Index: "users_role", Eq: []any{string(f.Role)}, After: f.After, Limit: f.Limit}
	}
	return domain.ListEntities[User](ctx, a.Store, UsersSpec.Name, q)
}

// Update applies a partial change to an account, retrying if another writer got there first.
func (a *Accounts) Update(ctx context.Context, id string, ch UserChange) (*User, error) {
	var u *User
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if u, err = a.Get(ctx, id); err != nil {
			return err
		}
		oldRole, oldTerritory, oldIIN, oldDisabled := u.Role, u.Territory, u.IIN, u.Disabled
		scopeBefore := u.ScopeEpoch
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		if ch.Role != nil {
			u.Role = *ch.Role
		}
		if ch.Territory != nil {
			if err := u.setTerritory(*ch.Territory); err != nil {
				return domain.Final(err)
			}
		}
		if ch.IIN != nil {
			if err := u.setIIN(*ch.IIN); err != nil {
				return domain.Final(err)
			}
		}
		if ch.FullName != nil {
			u.FullName = *ch.FullName
		}
		if err := u.validate(); err != nil {
			return domain.Final(err)
		}
		if ch.Password != nil {
			if err := validatePassword("password", *ch.Password); err != nil {
				return domain.Final(err)
			}
			u.PasswordHash = HashPassword(*ch.Password, a.Password)
		}
		if u.Role != oldRole || u.Territory != oldTerritory || u.IIN != oldIIN {
			u.ScopeEpoch++
		}
		if u.ScopeEpoch != scopeBefore || ch.Password != nil || u.Disabled != oldDisabled {
			u.SessionEpoch++ // every session of the account ends
		}
		u.UpdatedAt = a.Now().UTC()
		return domain.UpdateEntity(ctx, a.Store, UsersSpec.Name, u, nil)
	}, "the account changed while it was being updated; try again")
	if err != nil {
		return nil, err
	}
	return u, nil
}

// EnsureAdmin creates the account "admin" if it does not exist. It returns the password it set
// (generated when password is empty) and whether it created the account; an existing admin keeps
// its password.
func (a *Accounts) EnsureAdmin(ctx context.Context, password string) (string, bool, error) {
	if _, err := a.GetByUsername(ctx, "admin"); err == nil {
		return "", false, nil
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return "", false, err
	}
	if password == "" {
		password = encodeToken(domain.RandomToken(15))
	}
	_, err := a.Create(ctx, NewUser{Username: "admin", Password: password, Role: domain.RoleAdmin, FullName: "Administrator"})
	if domain.IsCode(err, domain.ECONFLICT) { // another process created it first
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return password, true, nil
}
