package lifecycle

import (
	"context"

	"github.com/vetfield/vetfield/domain"
)

// Directions of a movement list, from the caller's side.
const (
	Incoming = "incoming" // movements whose destination is the caller's territory, or the farmer's holdings
	Outgoing = "outgoing" // movements that leave it
)

// MovementFilter selects movements to list.
type MovementFilter struct {
	// Direction is Incoming (the default) or Outgoing.
	Direction string
	// Overdue keeps only movements still waiting for their receipt past the confirmation window.
	Overdue bool
	After   string
	Limit   int
}

// List pages through the movements by sees: ordered by territory (a district's villages one after
// another) and newest dispatch first within each — for a farmer, newest first — or, for Overdue,
// those open in the caller's territory by due time. The query itself is scoped to the caller's territory or
// IIN, so neither its items nor its cursor tell of another district's movements; a page may hold
// fewer than Limit when Overdue drops open movements still within their window.
func (ms *Movements) List(ctx context.Context, by domain.Principal, f MovementFilter) ([]*Movement, string, error) {
	dir := f.Direction
	switch dir {
	case "":
		dir = Incoming
	case Incoming, Outgoing:
	default:
		return nil, "", domain.Invalid("direction", "direction is incoming or outgoing")
	}
	side := map[string]string{Incoming: "to", Outgoing: "from"}[dir]
	q := domain.Query{After: f.After, Limit: f.Limit}
	switch {
	case by.Role == domain.RoleFarmer:
		if by.IIN == "" {
			return []*Movement{}, "", nil
		}
		q.Index, q.Eq, q.Desc = "movements_"+side+"_owner", []any{string(by.IIN)}, true
	case f.Overdue:
		q.Index, q.Eq = "movements_open_"+side, []any{"open"}
		q.From, q.To = domain.TerritoryRange(by.Territory)
	case by.Role == domain.RoleAdmin || by.Territory != "":
		q.Index, q.Desc = "movements_"+side, true
		q.From, q.To = domain.TerritoryRange(by.Territory)
	default:
		return []*Movement{}, "", nil
	}
	all, next, err := domain.ListEntities[Movement](ctx, ms.Store, MovementsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	now := ms.Now()
	out := all[:0]
	for _, m := range all {
		if m.VisibleTo(by) && (!f.Overdue || m.Overdue(now)) {
			out = append(out, m)
		}
	}
	return out, next, nil
}
