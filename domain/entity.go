package domain

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Clock returns the current time. It is injected wherever a deadline or timestamp is computed, so
// tests can freeze it.
type Clock func() time.Time

// Milliseconds is now with its readings cut to the millisecond, the precision of every timestamp
// vetfield keeps: a millisecond is what a BSON date holds (so both adapters keep the same instant), what a
// tablet's JavaScript or Java clock reads, and finer than any order a person can make of events
// in the field. The nanoseconds cut were noise that every synced record carried, and that
// compression cannot remove.
func Milliseconds(now Clock) Clock {
	return func() time.Time { return now().Truncate(time.Millisecond) }
}

// Meta is embedded in every stored noun: its id and the version the store last gave it.
type Meta struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

func (m *Meta) meta() *Meta { return m }

// Entity is satisfied by pointers to nouns that embed Meta: what the generic helpers below store.
type Entity[T any] interface {
	*T
	meta() *Meta
}

// NewID returns a new time-ordered unique id (UUID v7), so ids sort roughly by creation.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// RandomToken returns n random bytes; it panics only if the system's random source fails.
func RandomToken(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("domain: no randomness: " + err.Error())
	}
	return b
}

// DecodeEntity turns a stored record into a noun.
func DecodeEntity[T any, P Entity[T]](rec Record) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return nil, Internal("decode "+rec.ID, err)
	}
	m := P(v).meta()
	m.ID, m.Version = rec.ID, rec.Version
	return v, nil
}

// EncodeEntity turns a noun into a record for the store.
func EncodeEntity[T any, P Entity[T]](v P, scope []string) (Record, error) {
	m := v.meta()
	data, err := json.Marshal(v)
	if err != nil {
		return Record{}, Internal("encode "+m.ID, err)
	}
	return Record{ID: m.ID, Version: m.Version, Scope: scope, Data: data}, nil
}

// GetEntity loads one noun by id.
func GetEntity[T any, P Entity[T]](ctx context.Context, s Store, coll, id string) (*T, error) {
	rec, err := s.Get(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	return DecodeEntity[T, P](rec)
}

// GetEntityBy loads one noun by a unique index.
func GetEntityBy[T any, P Entity[T]](ctx context.Context, s Store, coll, index string, values ...any) (*T, error) {
	rec, err := s.GetBy(ctx, coll, index, values...)
	if err != nil {
		return nil, err
	}
	return DecodeEntity[T, P](rec)
}

// InsertEntity stores a new noun and sets its version.
func InsertEntity[T any, P Entity[T]](ctx context.Context, s Store, coll string, v P, scope []string) error {
	rec, err := EncodeEntity[T, P](v, scope)
	if err != nil {
		return err
	}
	stored, err := s.Insert(ctx, coll, rec)
	if err != nil {
		return err
	}
	v.meta().Version = stored.Version
	return nil
}

// UpdateEntity writes a changed noun if nobody else changed it since it was read, and sets its new
// version.
func UpdateEntity[T any, P Entity[T]](ctx context.Context, s Store, coll string, v P, scope []string) error {
	rec, err := EncodeEntity[T, P](v, scope)
	if err != nil {
		return err
	}
	stored, err := s.Update(ctx, coll, rec)
	if err != nil {
		return err
	}
	v.meta().Version = stored.Version
	return nil
}

// ListEntities reads one page of nouns.
func ListEntities[T any, P Entity[T]](ctx context.Context, s Store, coll string, q Query) ([]*T, string, error) {
	page, err := s.List(ctx, coll, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]*T, 0, len(page.Records))
	for _, rec := range page.Records {
		v, err := DecodeEntity[T, P](rec)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, page.Next, nil
}

// MustJSON encodes a value that cannot fail to encode (a struct of plain fields) as JSON.
func MustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("domain: " + err.Error())
	}
	return b
}
