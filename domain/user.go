package domain

import (
	"context"
	"regexp"
	"time"
)

// Role is what a user does in the service; it decides which routes they may call.
type Role string

// The roles. Staff (vets and inspectors) work within a territory; farmers see only what is theirs,
// found by their IIN or BIN; admins manage accounts and reference data.
const (
	RoleAdmin     Role = "admin"
	RoleVet       Role = "vet"
	RoleInspector Role = "inspector"
	RoleFarmer    Role = "farmer"
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleVet, RoleInspector, RoleFarmer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// IsStaff reports whether r works within a territory.
func (r Role) IsStaff() bool { return r == RoleVet || r == RoleInspector }

// User is an account.
type User struct {
	Meta
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
	Role         Role   `json:"role"`
	// Territory is the KATO code a vet's or inspector's work is limited to (and everything
	// beneath it); empty for an admin of the whole republic and for farmers.
	Territory Kato `json:"territory,omitempty"`
	// IIN identifies a farmer as an owner of holdings and animals.
	IIN      IIN    `json:"iin,omitempty"`
	FullName string `json:"full_name,omitempty"`
	Disabled bool   `json:"disabled"`
	// ScopeEpoch grows whenever the role, territory or IIN changes (any of which decides what the
	// user's tablet may hold), so a tablet syncing under the old scope is told to start over.
	ScopeEpoch int64     `json:"scope_epoch"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Principal is the authenticated caller of a request, as the current account says, not as an
// old token claimed.
type Principal struct {
	UserID    string
	Username  string
	Role      Role
	Territory Kato
	IIN       IIN
}

// Principal returns who u is for authorisation.
func (u *User) Principal() Principal {
	return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Territory: u.Territory, IIN: u.IIN}
}

// CanSeeTerritory reports whether p's work covers territory t. Admins see everything; staff
// see their territory and everything beneath it; farmers see no territory as such (their access
// goes by ownership).
func (p Principal) CanSeeTerritory(t Kato) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleVet, RoleInspector:
		return p.Territory != "" && p.Territory.Covers(t)
	}
	return false
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// validate checks the account's rules; fields are named as in the API's JSON body.
func (u *User) validate() error {
	if !usernamePattern.MatchString(u.Username) {
		return Invalid("body.username", "a username is 3 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !u.Role.Valid() {
		return Invalid("body.role", "role must be one of admin, vet, inspector, farmer")
	}
	switch {
	case u.Role.IsStaff() && u.Territory == "":
		return Invalid("body.territory", "a %s works within a territory: give its KATO code", u.Role)
	case u.Role == RoleFarmer && u.IIN == "":
		return Invalid("body.iin", "a farmer is identified by an IIN or BIN")
	case u.Role == RoleFarmer && u.Territory != "":
		return Invalid("body.territory", "a farmer has no territory; access follows ownership")
	}
	return nil
}

// validatePassword checks a new password's length.
func validatePassword(field, pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return Invalid(field, "a password has %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// UsersSpec declares the accounts collection.
var UsersSpec = CollectionSpec{
	Name: "users",
	Indexes: []Index{
		{Name: "users_username", Fields: []string{"username"}, Unique: true},
		{Name: "users_role", Fields: []string{"role", "username"}},
	},
}

// NewUser is what an admin gives to create an account.
type NewUser struct {
	Username  string
	Password  string
	Role      Role
	Territory string
	IIN       string
	FullName  string
}

// UserChange is a partial update of an account; nil fields stay as they are.
type UserChange struct {
	Disabled  *bool
	Role      *Role
	Territory *string
	IIN       *string
	FullName  *string
	Password  *string
}

// Accounts manages users, their passwords, sessions and login throttling.
type Accounts struct {
	Store    Store
	Now      Clock
	Password PasswordParams
	// dummyHash is checked against when a username is unknown, so a login takes as long whether
	// or not the account exists and does not reveal which usernames do.
	dummyHash string
}

// NewAccounts returns Accounts over store.
func NewAccounts(store Store, now Clock, params PasswordParams) *Accounts {
	return &Accounts{Store: store, Now: now, Password: params,
		dummyHash: HashPassword(string(RandomToken(16)), params)}
}

// Create makes a new account. A taken username is ECONFLICT.
func (a *Accounts) Create(ctx context.Context, in NewUser) (*User, error) {
	now := a.Now().UTC()
	u := &User{Meta: Meta{ID: NewID()}, Username: in.Username, Role: in.Role, FullName: in.FullName,
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
	if err := validatePassword("body.password", in.Password); err != nil {
		return nil, err
	}
	u.PasswordHash = HashPassword(in.Password, a.Password)
	if err := insertEntity(ctx, a.Store, UsersSpec.Name, u, nil); err != nil {
		if IsCode(err, ECONFLICT) {
			return nil, &Error{Code: ECONFLICT, Field: "body.username", Message: "this username is taken"}
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
	k, err := ParseKato(s)
	if err != nil {
		return Invalid("body.territory", "%s", err.(*Error).Message)
	}
	u.Territory = k
	return nil
}

func (u *User) setIIN(s string) error {
	if s == "" {
		u.IIN = ""
		return nil
	}
	n, err := ParseIIN(s)
	if err != nil {
		return Invalid("body.iin", "%s", err.(*Error).Message)
	}
	u.IIN = n
	return nil
}

// Get returns the account with id.
func (a *Accounts) Get(ctx context.Context, id string) (*User, error) {
	return getEntity[User](ctx, a.Store, UsersSpec.Name, id)
}

// GetByUsername returns the account named username.
func (a *Accounts) GetByUsername(ctx context.Context, username string) (*User, error) {
	return getEntityBy[User](ctx, a.Store, UsersSpec.Name, "users_username", username)
}

// UserFilter selects accounts to list.
type UserFilter struct {
	Role  Role
	After string
	Limit int
}

// List pages through accounts by username, optionally of one role.
func (a *Accounts) List(ctx context.Context, f UserFilter) ([]*User, string, error) {
	q := Query{Index: "users_username", After: f.After, Limit: f.Limit}
	if f.Role != "" {
		q = Query{Index: "users_role", Eq: []any{string(f.Role)}, After: f.After, Limit: f.Limit}
	}
	return listEntities[User](ctx, a.Store, UsersSpec.Name, q)
}

// Update applies a partial change to an account, retrying if another writer got there first.
func (a *Accounts) Update(ctx context.Context, id string, ch UserChange) (*User, error) {
	for range 5 {
		u, err := a.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		oldRole, oldTerritory, oldIIN := u.Role, u.Territory, u.IIN
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		if ch.Role != nil {
			u.Role = *ch.Role
		}
		if ch.Territory != nil {
			if err := u.setTerritory(*ch.Territory); err != nil {
				return nil, err
			}
		}
		if ch.IIN != nil {
			if err := u.setIIN(*ch.IIN); err != nil {
				return nil, err
			}
		}
		if ch.FullName != nil {
			u.FullName = *ch.FullName
		}
		if err := u.validate(); err != nil {
			return nil, err
		}
		if ch.Password != nil {
			if err := validatePassword("body.password", *ch.Password); err != nil {
				return nil, err
			}
			u.PasswordHash = HashPassword(*ch.Password, a.Password)
		}
		if u.Role != oldRole || u.Territory != oldTerritory || u.IIN != oldIIN {
			u.ScopeEpoch++
		}
		u.UpdatedAt = a.Now().UTC()
		err = updateEntity(ctx, a.Store, UsersSpec.Name, u, nil)
		if err == nil {
			return u, nil
		}
		if !IsCode(err, ECONFLICT) {
			return nil, err
		}
	}
	return nil, Busy("the account changed while it was being updated; try again")
}

// EnsureAdmin creates the account "admin" if it does not exist. It returns the password it set
// (generated when password is empty) and whether it created the account; an existing admin keeps
// its password.
func (a *Accounts) EnsureAdmin(ctx context.Context, password string) (string, bool, error) {
	if _, err := a.GetByUsername(ctx, "admin"); err == nil {
		return "", false, nil
	} else if !IsCode(err, ENOTFOUND) {
		return "", false, err
	}
	if password == "" {
		password = encodeToken(RandomToken(15))
	}
	_, err := a.Create(ctx, NewUser{Username: "admin", Password: password, Role: RoleAdmin, FullName: "Administrator"})
	if IsCode(err, ECONFLICT) { // another process created it first
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return password, true, nil
}
