package paper

import "strconv"

// Page is a page the paper prints after its signed part, as the paper veterinary passport keeps
// pages for the vaccinations and the diagnostic tests that the vets fill in over the animal's
// life. Its rows come from the register at the moment of printing, not from the signed content.
type Page struct {
	Key   string
	Title Text
	// Note says where the rows come from.
	Note  Text
	Table Table
}

// VaccinationRow is one vaccination of the page of vaccinations.
type VaccinationRow struct {
	Date    string // ISO date
	Disease Text
	Vaccine string
	Series  string
	Dose    string
	Vet     string
}

// TestRow is one diagnostic test of the page of tests: the sampling and the laboratory's result.
type TestRow struct {
	SampledOn  string // ISO date
	Disease    Text
	Method     Text
	Laboratory string
	Act        string
	ActDate    string // ISO date, "" while no result
	Result     string // negative, positive, doubtful, or "" while no result
}

// Labels of the pages of measures.
var (
	LabelVaccinations = Text{"Вакцинациялау (профилактикалық егу)", "Вакцинации (профилактические прививки)"}
	LabelTests        = Text{"Диагностикалық зерттеулер", "Диагностические исследования"}
	labelFromRegister = Text{"Бірдейлендіру дерекқорындағы жазбалар, басып шығарылған күнгі жағдай бойынша",
		"Записи базы данных по идентификации на день печати"}
	labelNone  = Text{"Жазба жоқ", "Записей нет"}
	colDate    = Text{"Күні", "Дата"}
	colDisease = Text{"Ауру", "Заболевание"}
	colVaccine = Text{"Вакцина атауы", "Наименование вакцины"}
	colSeries  = Text{"Сериясы", "Серия"}
	colDose    = Text{"Дозасы", "Доза"}
	colVet     = Text{"Ветеринар дәрігер", "Ветврач"}
	colSampled = Text{"Сынама алынған күні", "Дата взятия пробы"}
	colMethod  = Text{"Зерттеу әдісі", "Метод исследования"}
	colLab     = Text{"Зертхана, акт № және күні", "Лаборатория, № и дата акта"}
	colResult  = Text{"Нәтижесі", "Результат"}
	results    = map[string]Text{
		"negative": {"Теріс", "Отрицательный"},
		"positive": {"Оң", "Положительный"},
		"doubtful": {"Күмәнді", "Сомнительный"},
		"":         {"Нәтиже күтілуде", "Результат ожидается"},
	}
)

// MeasurePages lays out an animal's vaccinations and diagnostic tests as the two pages of the
// paper passport, each with a numbered row per entry, every column labelled in both languages.
func MeasurePages(vs []VaccinationRow, ts []TestRow) []Page {
	v := Page{Key: "vaccinations", Title: LabelVaccinations, Note: labelFromRegister, Table: Table{Key: "vaccinations",
		Label: LabelVaccinations, Columns: []Text{colNo, colDate, colDisease, colVaccine, colSeries, colDose, colVet},
		Weights: []float64{0, 52, 64, 64, 50, 40, 64}}}
	for i, r := range vs {
		v.Table.Rows = append(v.Table.Rows, []Text{Same(strconv.Itoa(i + 1)), Same(DMY(r.Date)), r.Disease, Same(r.Vaccine),
			Same(r.Series), Same(r.Dose), Same(r.Vet)})
	}
	t := Page{Key: "diagnostic_tests", Title: LabelTests, Note: labelFromRegister, Table: Table{Key: "diagnostic_tests",
		Label: LabelTests, Columns: []Text{colNo, colSampled, colDisease, colMethod, colLab, colResult},
		Weights: []float64{0, 52, 64, 60, 66, 92}}}
	for i, r := range ts {
		lab := Same("")
		if r.Act != "" {
			lab = Same(r.Laboratory + ", № " + r.Act + ", " + DMY(r.ActDate))
		}
		res, ok := results[r.Result]
		if !ok {
			res = Same(r.Result)
		}
		t.Table.Rows = append(t.Table.Rows, []Text{Same(strconv.Itoa(i + 1)), Same(DMY(r.SampledOn)), r.Disease, r.Method, lab, res})
	}
	for _, p := range []*Page{&v, &t} {
		if len(p.Table.Rows) == 0 {
			p.Table.Rows = [][]Text{{Same("—"), Same(""), labelNone}}
		}
	}
	return []Page{v, t}
}
