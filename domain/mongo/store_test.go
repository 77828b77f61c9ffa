package mongo_test

import (
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
	"github.com/vetfield/vetfield/domain/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := mongo.Open(t.Context(), mongotest.Start(t), "", mongo.WithPendingTimeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
