package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

// DiscrepancyInput is one animal a receipt found different: it did not arrive, or arrived with
// another number.
type DiscrepancyInput struct {
	AnimalID   string
	Tag        string
	Kind       string
	ArrivedTag string
	Note       string
}

// NewReceipt is the destination's confirmation of a movement.
type NewReceipt struct {
	// ID is the client's id of the receipt (a UUID): a retry answers the same receipt.
	ID            string
	Discrepancies []DiscrepancyInput
	// ReceivedAt is when a tablet offline confirmed, by its clock; zero is now.
	ReceivedAt time.Time
}

// MayReceive reports whether p confirms receipts for m's destination: a vet of the destination's
// territory or the destination holding's owner; for an object, its territory's vets and
// inspectors; for export, a vet of the source's territory, who sees the animals off at the border.
func (m *Movement) MayReceive(p domain.Principal) bool {
	switch m.To.Kind {
	case ToHolding:
		return (p.Role == domain.RoleVet && p.Territory.Covers(m.To.Territory)) ||
			(p.Role == domain.RoleFarmer && p.IIN != "" && p.IIN == m.To.OwnerIIN)
	case ToObject:
		return (p.Role == domain.RoleVet || p.Role == domain.RoleInspector) && p.Territory.Covers(m.To.Territory)
	case ToExport:
		return p.Role == domain.RoleVet && p.Territory.Covers(m.From.Territory)
	}
	return false
}

// Receive confirms a movement at its destination. The animals that arrived become the
// destination's: its holding (or object), territory and owner — a change of owner when the
// holding is another owner's — and their history and papers follow them there, so the source's
// tablets get their removal and the destination's get them whole. An animal that did not arrive
// is recorded as missing and stays on the source's register, out of transit; one that arrived
// with another number is recorded with it. Exported animals leave the register. The movement is
// updated first and then each animal, so that a retry of the same receipt finishes a unit a crash
// cut short; a second, different receipt is refused.
func (ms *Movements) Receive(ctx context.Context, by domain.Principal, id string, in NewReceipt) (*Movement, error) {
	rid, err := domain.ParseClientID(in.ID, "id")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(domain.MustJSON(in))
	hash := hex.EncodeToString(sum[:])
	return ms.end(ctx, by, id, ending{
		may: func(m *Movement) error {
			if !m.MayReceive(by) {
				return domain.Errorf(domain.EFORBIDDEN, "a vet of the destination's territory or its owner confirms the receipt")
			}
			return nil
		},
		same: func(m *Movement) (bool, error) {
			if m.Receipt == nil || m.Receipt.ID != rid {
				return false, nil
			}
			if m.Receipt.Hash != hash {
				return false, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
					Message: "this id names another receipt; generate a new id for a new request"}
			}
			return true, nil
		},
		record: func(m *Movement) error {
			at, err := offlineTime(in.ReceivedAt, ms.Now().UTC(), "received_at")
			if err != nil {
				return err
			}
			if at.Before(m.DispatchedAt) {
				return domain.Invalid("received_at", "the receipt cannot come before the dispatch")
			}
			r := &MovementReceipt{ID: rid, At: at, By: by.UserID, ByName: ms.Identification.Animals.StaffName(ctx, by),
				Late: at.After(m.DueAt), Discrepancies: []Discrepancy{}, Hash: hash}
			if err := m.applyDiscrepancies(in.Discrepancies, r); err != nil {
				return err
			}
			m.Status, m.Receipt = MovementReceived, r
			return nil
		},
		settle: ms.settle,
	})
}

// ending is one way a dispatched movement ends — its receipt or its cancellation — as end runs it.
type ending struct {
	// may refuses a caller who may not end the movement this way.
	may func(m *Movement) error
	// same reports whether m already ended by this very request (a retry), and refuses another
	// request that reused its id.
	same func(m *Movement) (bool, error)
	// record writes the ending on m, checking the request against it.
	record func(m *Movement) error
	// settle adds to w what the ending does to the animals, only what is left of it.
	settle func(ctx context.Context, w *domain.Writes, m *Movement) error
}

// end ends movement id as e says, in one unit of work: the movement's update first, then what it
// does to each animal, so that a retry of the same request — which finds the movement ended by it
// — finishes a unit a crash cut short; any other request on an ended movement is refused.
func (ms *Movements) end(ctx context.Context, by domain.Principal, id string, e ending) (*Movement, error) {
	var out *Movement
	err := domain.RetryCAS(ctx, func() error {
		m, err := ms.Get(ctx, by, id)
		if err != nil {
			return err
		}
		if err := e.may(m); err != nil {
			return err
		}
		w := &domain.Writes{}
		retry, err := e.same(m)
		switch {
		case err != nil:
			return err
		case retry:
		case m.Status != MovementDispatched:
			return &domain.Error{Code: domain.EPRECONDITION, Message: fmt.Sprintf("the movement is %s already", m.Status)}
		default:
			if err := e.record(m); err != nil {
				return err
			}
			m.index()
			if err := domain.WriteUpdate(w, MovementsSpec.Name, m, m.scope()); err != nil {
				return err
			}
		}
		if err := e.settle(ctx, w, m); err != nil {
			return err
		}
		if err := ms.apply(ctx, w); err != nil {
			return err
		}
		out = m
		return nil
	}, "the movement is changing concurrently; try again")
	return out, err
}

// applyDiscrepancies checks the receipt's discrepancies against the animals of m and records
// them on both.
func (m *Movement) applyDiscrepancies(ins []DiscrepancyInput, r *MovementReceipt) error {
	seen := map[int]bool{}
	for i, d := range ins {
		f := fmt.Sprintf("discrepancies[%d]", i)
		k := -1
		for j, a := range m.Animals {
			if (d.AnimalID != "" && a.ID == d.AnimalID) || (d.AnimalID == "" && d.Tag != "" && a.Tag == d.Tag) {
				k = j
			}
		}
		switch {
		case d.AnimalID == "" && d.Tag == "":
			return domain.Invalid(f, "name the animal by its id or the number it was dispatched with")
		case k < 0:
			return domain.Invalid(f, "the animal is not on this movement")
		case seen[k]:
			return domain.Invalid(f, "the animal %s has a discrepancy already", m.Animals[k].Tag)
		}
		seen[k] = true
		note, err := domain.TrimmedText(d.Note, f+".note", MaxMovementNote, true)
		if err != nil {
			return err
		}
		a := &m.Animals[k]
		switch d.Kind {
		case DiscrepancyMissing:
			if d.ArrivedTag != "" {
				return domain.Invalid(f+".arrived_tag", "an animal that did not arrive has no arrived number")
			}
			a.State = MovedMissing
		case DiscrepancyOtherNumber:
			if err := domain.CheckISO11784(d.ArrivedTag); err != nil {
				return domain.AtField(f+".arrived_tag", err)
			}
			if d.ArrivedTag == a.Tag {
				return domain.Invalid(f+".arrived_tag", "the animal arrived with the number it was dispatched with")
			}
			a.State, a.ArrivedTag = MovedArrived, d.ArrivedTag
		default:
			return domain.Invalid(f+".kind", "a discrepancy is missing or other_number")
		}
		a.Note = note
		r.Discrepancies = append(r.Discrepancies, Discrepancy{AnimalID: a.ID, Tag: a.Tag, Kind: d.Kind, ArrivedTag: d.ArrivedTag, Note: note})
	}
	for j := range m.Animals {
		if m.Animals[j].State == MovedInTransit {
			m.Animals[j].State = MovedArrived
		}
	}
	return nil
}

// settle adds to w the moves of every animal of a received movement to where the receipt put it,
// with its history and papers, and its event. Everything it writes is derived from the movement
// and the animals as stored, so it runs again on every retry and writes only what is left.
func (ms *Movements) settle(ctx context.Context, w *domain.Writes, m *Movement) error {
	for _, x := range m.Animals {
		if err := ms.settleAnimal(ctx, w, m, x); err != nil {
			return err
		}
	}
	return nil
}

// settleAnimal adds to w what is left to do for animal x of a received movement.
func (ms *Movements) settleAnimal(ctx context.Context, w *domain.Writes, m *Movement, x MovedAnimal) error {
	as := ms.Identification.Animals
	a, err := as.Load(ctx, x.ID)
	if err != nil {
		return err
	}
	evID := domain.DerivedID("event", a.ID, "received", m.ID)
	kind := EventReceived
	if x.State == MovedMissing {
		kind = EventNotArrived
	}
	if missing, err := ms.missingEvent(ctx, evID); err != nil || !missing {
		return err // nil: this animal is settled, its event written last
	}
	// Still in transit, or never marked (a dispatch cut short that no retry finished): it leaves
	// now. Otherwise an earlier run moved it and what is left is its history, papers and event.
	atSource := a.InTransit == "" && a.HoldingID == m.From.HoldingID && a.ObjectID == "" && a.Status == identification.AnimalActive
	if a.InTransit == m.ID || atSource {
		a.InTransit, a.UpdatedAt = "", m.Receipt.At
		if x.State == MovedArrived {
			ms.place(a, m)
		}
		if err := as.WriteUpdate(w, a); err != nil {
			return err
		}
	}
	if x.State == MovedArrived && m.To.Kind == ToExport {
		// Exported: the animal left the register, as a disposal of kind exported does — its
		// numbers retired and the disposal in its history.
		if err := ms.Identification.Stock.RetireWrites(ctx, w, a, "exported: movement "+m.ID); err != nil {
			return err
		}
		ev := disposedEvent(a)
		if missing, err := ms.missingEvent(ctx, ev.ID); err != nil {
			return err
		} else if missing {
			if err := as.WriteEvent(w, a, ev); err != nil {
				return err
			}
		}
	}
	if x.State == MovedArrived {
		if err := as.WriteFollowHistory(ctx, w, a); err != nil {
			return err
		}
		docs, err := ms.Documents.OfSubject(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if _, err := ms.Documents.WriteFollow(w, d, a.Territory, a.OwnerIIN); err != nil {
				return err
			}
		}
	}
	return as.WriteEvent(w, a, identification.AnimalEvent{Meta: domain.Meta{ID: evID}, Kind: kind,
		At: m.Receipt.At, By: m.Receipt.By, Tag: x.Tag,
		Details: domain.MustJSON(map[string]any{"movement_id": m.ID, "from": m.From, "to": m.To,
			"owner_change": m.OwnerChange, "state": x.State, "arrived_tag": x.ArrivedTag, "note": x.Note})})
}

// place puts a at the destination of m.
func (ms *Movements) place(a *identification.Animal, m *Movement) {
	switch m.To.Kind {
	case ToHolding:
		a.HoldingID, a.ObjectID, a.Territory, a.OwnerIIN = m.To.HoldingID, "", m.To.Territory, m.To.OwnerIIN
	case ToObject:
		a.HoldingID, a.ObjectID, a.Territory = "", m.To.ObjectID, m.To.Territory
	case ToExport:
		leave(a, &identification.Disposal{ID: m.ID, DisposalEntry: identification.DisposalEntry{Kind: DisposalExported,
			Date: domain.CivilDateOf(m.Receipt.At), Cause: "экспорт: " + m.To.Country}, By: m.Receipt.By, At: m.Receipt.At})
	}
}

// Cancel calls a dispatched movement off before its receipt: a vet of the source's territory, or
// the owner who dispatched, with a reason. The animals stay on the source holding, out of
// transit, with the cancellation in their history.
func (ms *Movements) Cancel(ctx context.Context, by domain.Principal, id, requestID, reason string) (*Movement, error) {
	cid, err := domain.ParseClientID(requestID, "id")
	if err != nil {
		return nil, err
	}
	if reason, err = domain.TrimmedText(reason, "reason", MaxMovementNote, false); err != nil {
		return nil, domain.Invalid("reason", "say why the movement is cancelled")
	}
	return ms.end(ctx, by, id, ending{
		may: func(m *Movement) error {
			if (by.Role == domain.RoleVet && by.Territory.Covers(m.From.Territory)) ||
				(by.Role == domain.RoleFarmer && by.IIN == m.From.OwnerIIN) {
				return nil
			}
			return domain.Errorf(domain.EFORBIDDEN, "a vet of the source's territory or the owner who dispatched cancels a movement")
		},
		same: func(m *Movement) (bool, error) {
			if m.Cancellation == nil || m.Cancellation.ID != cid {
				return false, nil
			}
			if m.Cancellation.Reason != reason {
				return false, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
					Message: "this id names another cancellation; generate a new id for a new request"}
			}
			return true, nil
		},
		record: func(m *Movement) error {
			m.Status = MovementCancelled
			m.Cancellation = &MovementCancellation{ID: cid, At: ms.Now().UTC(), By: by.UserID, Reason: reason}
			for i := range m.Animals {
				m.Animals[i].State = MovedReturned
			}
			return nil
		},
		settle: ms.unmark,
	})
}

// unmark adds to w what is left of taking the animals of a cancelled movement out of transit,
// each with its event.
func (ms *Movements) unmark(ctx context.Context, w *domain.Writes, m *Movement) error {
	as := ms.Identification.Animals
	for _, x := range m.Animals {
		a, err := as.Load(ctx, x.ID)
		if err != nil {
			return err
		}
		evID := domain.DerivedID("event", a.ID, "movement_cancelled", m.ID)
		if a.InTransit == m.ID {
			a.InTransit, a.UpdatedAt = "", m.Cancellation.At
			if err := as.WriteUpdate(w, a); err != nil {
				return err
			}
		} else if missing, err := ms.missingEvent(ctx, evID); err != nil {
			return err
		} else if !missing {
			continue
		}
		if err := as.WriteEvent(w, a, identification.AnimalEvent{Meta: domain.Meta{ID: evID}, Kind: EventMovementCancelled,
			At: m.Cancellation.At, By: m.Cancellation.By, Tag: x.Tag,
			Details: domain.MustJSON(map[string]any{"movement_id": m.ID, "reason": m.Cancellation.Reason})}); err != nil {
			return err
		}
	}
	return nil
}
