package sync

import "github.com/vetfield/vetfield/domain"

// InScopeForTest is inScope, for the tests of package sync_test.
func InScopeForTest(p domain.Principal, keys []string) bool { return inScope(p, keys) }
