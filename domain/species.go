package domain

// Species is a kind of farm animal the service identifies.
type Species string

// The species of service 4: cattle, small ruminants, horses, camels and pigs.
const (
	Cattle Species = "cattle"
	Sheep  Species = "sheep"
	Goat   Species = "goat"
	Horse  Species = "horse"
	Camel  Species = "camel"
	Pig    Species = "pig"
)

// speciesNames are the names printed on papers, in Kazakh and Russian.
var speciesNames = map[Species][2]string{
	Cattle: {"Ірі қара мал", "Крупный рогатый скот"},
	Sheep:  {"Қой", "Овца"},
	Goat:   {"Ешкі", "Коза"},
	Horse:  {"Жылқы", "Лошадь"},
	Camel:  {"Түйе", "Верблюд"},
	Pig:    {"Шошқа", "Свинья"},
}

// AllSpecies lists every species, for validation and documentation.
var AllSpecies = []Species{Cattle, Sheep, Goat, Horse, Camel, Pig}

// Valid reports whether s is a known species.
func (s Species) Valid() bool { _, ok := speciesNames[s]; return ok }

// Name returns the species' name in lang ("kk" or "ru"), or the code itself if unknown.
func (s Species) Name(lang string) string {
	n, ok := speciesNames[s]
	if !ok {
		return string(s)
	}
	if lang == "kk" {
		return n[0]
	}
	return n[1]
}
