package epizootic

import (
	"fmt"
	"slices"

	"github.com/vetfield/vetfield/domain/identification"
)

// GroundPositiveTest refuses an animal with a positive diagnostic result in force for a disease
// whose catalogue entry does not allow the purpose.
const GroundPositiveTest = "positive_test"

// FindingGrounds are the grounds to refuse animal a a reference or a movement for purpose: one
// per positive result in force (Animal.Findings) whose disease does not allow the purpose, citing
// the test as the laboratory reported it — disease, sampling date, laboratory and act.
func FindingGrounds(a *identification.Animal, purpose ReferencePurpose) []Ground {
	var gs []Ground
	for _, f := range a.Findings {
		d, ok := Diseases[f.Disease]
		if !ok || slices.Contains(d.AllowedWithFinding, purpose) {
			continue
		}
		gs = append(gs, Ground{Code: GroundPositiveTest, Tag: string(a.Tag), AnimalID: a.ID, TestID: f.TestID,
			TextKK: fmt.Sprintf("%s нөмірлі жануардың «%s» ауруына зерттеу нәтижесі оң: сынама %s алынған, %s, сараптама актісі № %s.",
				a.Tag, d.NameKK, f.SampledOn, f.Laboratory, f.Act),
			TextRU: fmt.Sprintf("У животного с номером %s положительный результат исследования на заболевание «%s»: проба взята %s, %s, акт экспертизы № %s.",
				a.Tag, d.NameRU, f.SampledOn, f.Laboratory, f.Act)})
	}
	return gs
}
