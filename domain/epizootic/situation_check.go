package epizootic

import (
	"context"
	"fmt"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// GroundInTransit refuses an animal that is on a movement not yet received or cancelled.
const GroundInTransit = "in_transit"

// inTransitGround is the ground of an animal on a movement.
func inTransitGround(tag, id string) Ground {
	return Ground{Code: GroundInTransit, Tag: tag, AnimalID: id,
		TextKK: fmt.Sprintf("%s нөмірлі жануар жолда: оны қабылдау расталмаған.", tag),
		TextRU: fmt.Sprintf("Животное с номером %s в пути: его приём не подтверждён.", tag)}
}

// CheckSituation reads the restrictions in force over territory t at instant at and returns the
// check with a ground for each restriction that concerns animals of the species given — the one
// rule a reference applies, for other services that move animals (a movement's source and
// destination). Moment names the instant on the record ("dispatch").
func (rf *References) CheckSituation(ctx context.Context, t domain.Kato, at time.Time, moment string, species []domain.Species) (SituationCheck, []Ground, error) {
	c, gs, err := rf.situationGrounds(ctx, t, at, moment, species, nil)
	c.Territory = t
	return c, gs, err
}
