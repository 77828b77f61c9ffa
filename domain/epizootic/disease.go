package epizootic

import (
	"slices"
	"strings"

	"github.com/vetfield/vetfield/domain"
)

// ProductKind is a kind of animal product or raw material a reference may cover.
type ProductKind string

// The kinds of products and raw materials. Poultry and eggs name birds and what they lay: poultry
// is not a species vetfield identifies (service 4 tags cattle, small ruminants, horses, camels and
// pigs), so a disease of birds restricts these products rather than a species.
const (
	ProductMeat    ProductKind = "meat"
	ProductMilk    ProductKind = "milk"
	ProductHides   ProductKind = "hides"
	ProductWool    ProductKind = "wool"
	ProductOffal   ProductKind = "offal"
	ProductPoultry ProductKind = "poultry" // live birds and their carcasses
	ProductEggs    ProductKind = "eggs"
	ProductHoney   ProductKind = "honey"
)

// productNames are the kinds' names on paper, in Kazakh and Russian.
var productNames = map[ProductKind][2]string{
	ProductMeat:    {"ет", "мясо"},
	ProductMilk:    {"сүт", "молоко"},
	ProductHides:   {"тері", "шкуры"},
	ProductWool:    {"жүн", "шерсть"},
	ProductOffal:   {"ішек-қарын", "субпродукты"},
	ProductPoultry: {"құс", "птица"},
	ProductEggs:    {"жұмыртқа", "яйца"},
	ProductHoney:   {"бал", "мёд"},
}

// Valid reports whether k is a known kind.
func (k ProductKind) Valid() bool { _, ok := productNames[k]; return ok }

// Name returns the kind's name in lang ("kk" or "ru").
func (k ProductKind) Name(lang string) string {
	n, ok := productNames[k]
	if !ok {
		return string(k)
	}
	if lang == "kk" {
		return n[0]
	}
	return n[1]
}

// fromSpecies reports whether products of kind k come from an identified species (meat of
// cattle) rather than from birds or bees.
func (k ProductKind) fromSpecies() bool {
	return k != ProductPoultry && k != ProductEggs && k != ProductHoney
}

// Disease is a notifiable disease: the species it affects and the products a restriction for it
// stops. The catalogue is fixed in code (it changes with the law, not with the day's work) and a
// restriction copies the disease's names, so a tablet offline needs nothing more to print them.
type Disease struct {
	Code    string           `json:"code"`
	NameKK  string           `json:"name_kk"`
	NameRU  string           `json:"name_ru"`
	Species []domain.Species `json:"species"`
	// Products are the kinds a restriction stops; for kinds from a species (meat, milk), only
	// those of an affected species.
	Products []ProductKind `json:"products"`
	// AllowedWithFinding are the purposes a reference or a movement may still serve for an animal
	// with a positive result for the disease (a brucellosis reactor goes to slaughter); every
	// other purpose is refused, citing the test.
	AllowedWithFinding []ReferencePurpose `json:"allowed_with_finding"`
}

// Name returns the disease's name in lang ("kk" or "ru").
func (d Disease) Name(lang string) string {
	if lang == "kk" {
		return d.NameKK
	}
	return d.NameRU
}

// Affects reports whether the disease concerns animals of species s.
func (d Disease) Affects(s domain.Species) bool { return slices.Contains(d.Species, s) }

// Restricts reports whether the disease stops product kind k taken from species s (s is ignored
// for poultry, eggs and honey, which come from no identified species).
func (d Disease) Restricts(k ProductKind, s domain.Species) bool {
	if !slices.Contains(d.Products, k) {
		return false
	}
	return !k.fromSpecies() || s == "" || d.Affects(s)
}

var (
	allSpecies    = []domain.Species{domain.Cattle, domain.Sheep, domain.Goat, domain.Horse, domain.Camel, domain.Pig}
	carcassGoods  = []ProductKind{ProductMeat, ProductOffal, ProductHides, ProductWool}
	ruminantGoods = []ProductKind{ProductMeat, ProductOffal, ProductMilk, ProductHides, ProductWool}
)

// Diseases is the catalogue of notifiable diseases, by code. The species follow the veterinary
// rules: foot-and-mouth disease strikes cloven-hoofed animals (horses are not susceptible);
// brucellosis, cattle, small ruminants, camels and pigs; anthrax and rabies, every species; pox,
// peste des petits ruminants, sheep and goats; African swine fever, pigs; tuberculosis, cattle,
// camels, pigs and goats; enzootic bovine leukosis, cattle (both tested for in every herd every
// year, and a reactor goes only to slaughter); avian influenza, birds
// only — it restricts poultry and eggs and no identified species, so it never refuses a reference
// for a cow.
var Diseases = map[string]Disease{
	"fmd": {Code: "fmd", NameKK: "Аусыл", NameRU: "Ящур",
		Species: []domain.Species{domain.Cattle, domain.Sheep, domain.Goat, domain.Camel, domain.Pig}, Products: ruminantGoods},
	"brucellosis": {Code: "brucellosis", NameKK: "Бруцеллез", NameRU: "Бруцеллёз",
		Species: []domain.Species{domain.Cattle, domain.Sheep, domain.Goat, domain.Camel, domain.Pig}, Products: ruminantGoods,
		AllowedWithFinding: []ReferencePurpose{PurposeSlaughter}},
	"anthrax": {Code: "anthrax", NameKK: "Топалаң (күйдіргі)", NameRU: "Сибирская язва",
		Species: allSpecies, Products: ruminantGoods},
	"rabies": {Code: "rabies", NameKK: "Құтыру", NameRU: "Бешенство",
		Species: allSpecies, Products: []ProductKind{ProductMeat, ProductOffal, ProductMilk}},
	"sheep_goat_pox": {Code: "sheep_goat_pox", NameKK: "Қой мен ешкі шешегі", NameRU: "Оспа овец и коз",
		Species: []domain.Species{domain.Sheep, domain.Goat}, Products: ruminantGoods},
	"ppr": {Code: "ppr", NameKK: "Ұсақ күйіс қайыратын малдың обасы", NameRU: "Чума мелких жвачных животных",
		Species: []domain.Species{domain.Sheep, domain.Goat}, Products: ruminantGoods},
	"avian_influenza": {Code: "avian_influenza", NameKK: "Құс тұмауы", NameRU: "Грипп птиц",
		Species: []domain.Species{}, Products: []ProductKind{ProductPoultry, ProductEggs}},
	"tuberculosis": {Code: "tuberculosis", NameKK: "Туберкулез", NameRU: "Туберкулёз",
		Species: []domain.Species{domain.Cattle, domain.Camel, domain.Pig, domain.Goat}, Products: []ProductKind{ProductMeat, ProductOffal, ProductMilk},
		AllowedWithFinding: []ReferencePurpose{PurposeSlaughter}},
	"leukosis": {Code: "leukosis", NameKK: "Ірі қара малдың лейкозы", NameRU: "Лейкоз крупного рогатого скота",
		Species: []domain.Species{domain.Cattle}, Products: []ProductKind{ProductMilk},
		AllowedWithFinding: []ReferencePurpose{PurposeSlaughter}},
	"asf": {Code: "asf", NameKK: "Шошқаның африкалық обасы", NameRU: "Африканская чума свиней",
		Species: []domain.Species{domain.Pig}, Products: carcassGoods},
}

// DiseaseCodes lists the catalogue in a stable order, for lists and documentation.
var DiseaseCodes = []string{"fmd", "brucellosis", "anthrax", "rabies", "sheep_goat_pox", "ppr", "avian_influenza", "asf",
	"tuberculosis", "leukosis"}

// DiseaseByCode returns the disease with code, or EINVALID naming field.
func DiseaseByCode(code, field string) (Disease, error) {
	d, ok := Diseases[code]
	if !ok {
		return Disease{}, domain.Invalid(field, "unknown disease %q: one of %s", domain.Clip(code), strings.Join(DiseaseCodes, ", "))
	}
	return d, nil
}
