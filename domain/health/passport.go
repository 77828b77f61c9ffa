package health

import (
	"context"
	"encoding/json"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

// VaccinationLine is one vaccination as the passport's page of vaccinations prints it.
type VaccinationLine struct {
	VaccinationID string           `json:"vaccination_id"`
	Date          domain.CivilDate `json:"date"`
	Disease       string           `json:"disease"`
	Vaccine       string           `json:"vaccine"`
	Series        string           `json:"series"`
	Dose          string           `json:"dose"`
	VetName       string           `json:"by_name"`
}

// TestLine is one diagnostic test of an animal as the passport's page of tests prints it: the
// sampling, and the latest result the laboratory reported ("" while none came).
type TestLine struct {
	TestID     string           `json:"test_id"`
	SampledOn  domain.CivilDate `json:"sampled_on"`
	Disease    string           `json:"disease"`
	Method     Method           `json:"method"`
	Laboratory string           `json:"laboratory,omitempty"`
	Act        string           `json:"act,omitempty"`
	ActDate    domain.CivilDate `json:"act_date,omitempty"`
	Result     string           `json:"result,omitempty"`
}

// Measures reads an animal's vaccinations and diagnostic tests from its history, oldest first,
// for the pages of its passport. The history is the source: it follows the animal wherever it
// goes, and each entry carries what the page prints.
func (s *Service) Measures(ctx context.Context, animalID string) ([]VaccinationLine, []TestLine, error) {
	var vs []VaccinationLine
	var ts []TestLine
	at := map[string]int{}
	var results []TestLine
	after := ""
	for {
		page, next, err := domain.ListEntities[identification.AnimalEvent](ctx, s.Store, identification.AnimalEventsSpec.Name,
			domain.Query{Index: "animal_events_animal", Eq: []any{animalID}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range page {
			switch e.Kind {
			case EventVaccinated:
				var l VaccinationLine
				if json.Unmarshal(e.Details, &l) == nil {
					vs = append(vs, l)
				}
			case EventSampled:
				var l TestLine
				if json.Unmarshal(e.Details, &l) == nil {
					at[l.TestID] = len(ts)
					ts = append(ts, l)
				}
			case EventDiagnosticResult:
				var l TestLine
				if json.Unmarshal(e.Details, &l) == nil {
					results = append(results, l)
				}
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	// A result is recorded after its sampling, but within one millisecond the history's order is
	// the ids': results are matched to their samplings once all are read, the latest winning.
	for _, l := range results {
		if i, ok := at[l.TestID]; ok {
			ts[i].Laboratory, ts[i].Act, ts[i].ActDate, ts[i].Result = l.Laboratory, l.Act, l.ActDate, l.Result
		}
	}
	return vs, ts, nil
}
