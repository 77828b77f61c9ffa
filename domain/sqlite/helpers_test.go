package sqlite_test

import (
	"errors"

	"github.com/vetfield/vetfield/domain"
)

func asError(err error, e **domain.Error) bool { return errors.As(err, e) }
