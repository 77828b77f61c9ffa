// Package accounts owns who may use vetfield: the accounts with their roles and territories,
// argon2id password hashes, refresh sessions with rotation and family revocation, and the login
// throttle. Authorisation itself is domain.Principal, which every service checks.
package accounts

import "github.com/vetfield/vetfield/domain"

// Specs are the collections of accounts, for Declare.
var Specs = []domain.CollectionSpec{UsersSpec, SessionsSpec, LoginFailuresSpec}
