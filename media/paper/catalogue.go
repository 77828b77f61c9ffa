package paper

import (
	"fmt"
	"strings"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

// entry is how the paper prints one content key: its label and a renderer that appends fields or
// tables. all is the whole content, for keys printed together (a refusal's ground sentence is
// left out when its grounds are listed one by one).
type entry struct {
	label  Text
	render func(p *Paper, key string, v any, all map[string]any)
	// nested lists the keys of the objects a table renderer reads, so a key a service adds to them
	// shows up as unlabelled too.
	nested []string
}

// order is the order in which content fields appear on paper: what was decided first, then what
// it is about, then the evidence.
var order = []string{
	"service", "result", "outcome", "purpose", "destination", "request", "reg_number",
	"application", "application_date", "registered_at", "accepted_by", "result_due", "applicant", "representative",
	"submitted", "previous_name", "legal_form", "conclusion",
	"product", "manufacturer", "standard", "previous_certificate", "reorganisation",
	"activities", "requirements", "fee", "previous_licence", "original", "reason",
	"activity", "attested_on", "chair", "members", "secretary", "test_result", "interview_result",
	"consignment", "export_country", "references", "laboratory", "lab_act", "lab_tests", "vehicle_plate", "seal", "object_kind", "address", "act_date", "executor",
	"id_means", "sex", "birth_date", "breed", "colour", "nickname", "holding", "owner", "previous_tag", "passport",
	"examination", "applied_at", "decided_at", "offline", "review_required",
	"ground", "ground_kk", "grounds", "missing", "returned",
	"identification", "products", "violations", "photos", "checked", "reference",
}

// catalogue has every content key a service writes (see the test that reads the services' code).
// It is filled in init because its renderers read it back (labels, nested keys).
var catalogue map[string]entry

func init() {
	catalogue = map[string]entry{
		"service":              {label: Text{"Мемлекеттік көрсетілетін қызмет", "Государственная услуга"}, render: enumField("service")},
		"result":               {label: Text{"Шешім", "Решение"}, render: enumField("result")},
		"outcome":              {label: Text{"Қорытынды", "Заключение"}, render: enumField("outcome")},
		"purpose":              {label: Text{"Мақсаты", "Цель"}, render: enumField("purpose")},
		"destination":          {label: Text{"Баратын жері", "Пункт назначения"}, render: plain},
		"application":          {label: Text{"Өтініш нөмірі", "Номер заявления"}, render: plain},
		"request":              {label: Text{"Өтініштің мәні", "Предмет заявления"}, render: enumField("request")},
		"reg_number":           {label: Text{"Есептік нөмір", "Учетный номер"}, render: plain},
		"registered_at":        {label: Text{"Тіркелген күні мен уақыты", "Дата и время регистрации"}, render: plain},
		"accepted_by":          {label: Text{"Өтінішті қабылдаған", "Заявление принял"}, render: plain},
		"result_due":           {label: Text{"Нәтижені беру мерзімі", "Срок выдачи результата"}, render: plain},
		"applicant":            {label: Text{"Өтініш беруші", "Заявитель"}, render: plain},
		"representative":       {label: Text{"Сенімхат бойынша өкіл", "Представитель по доверенности"}, render: plain},
		"submitted":            {label: Text{"Тапсырылған құжаттар", "Сданные документы"}, render: missing},
		"previous_name":        {label: Text{"Бұрынғы атауы", "Прежнее наименование"}, render: plain},
		"legal_form":           {label: Text{"Ұйымдық-құқықтық нысаны", "Организационно-правовая форма"}, render: plain},
		"conclusion":           {label: Text{"Ветеринариялық-санитариялық қорытынды", "Ветеринарно-санитарное заключение"}, render: plain},
		"activities":           {label: Text{"Лицензияға қосымша: қызмет түрлері", "Приложение к лицензии: виды деятельности"}, render: missing},
		"requirements":         {label: Text{"Біліктілік талаптары (тексерілді)", "Квалификационные требования (проверены)"}, render: missing},
		"fee":                  {label: Text{"Лицензиялық алым (түбіртек, күні, сомасы)", "Лицензионный сбор (квитанция, дата, сумма)"}, render: plain},
		"previous_licence":     {label: Text{"Бұрынғы лицензия", "Прежняя лицензия"}, render: plain},
		"original":             {label: Text{"Түпнұсқа лицензия", "Подлинник лицензии"}, render: plain},
		"reason":               {label: Text{"Себебі", "Причина"}, render: plain},
		"activity":             {label: Text{"Қызмет түрі", "Вид деятельности"}, render: plain},
		"attested_on":          {label: Text{"Аттестаттау күні", "Дата аттестации"}, render: plain},
		"chair":                {label: Text{"Комиссия төрағасы", "Председатель комиссии"}, render: plain},
		"members":              {label: Text{"Комиссия мүшелері", "Члены комиссии"}, render: missing},
		"secretary":            {label: Text{"Комиссия хатшысы", "Секретарь комиссии"}, render: plain},
		"test_result":          {label: Text{"Тестілеу нәтижесі", "Результат тестирования"}, render: plain},
		"interview_result":     {label: Text{"Әңгімелесу", "Собеседование"}, render: enumField("interview_result")},
		"product":              {label: Text{"Өнімнің атауы", "Наименование продукции"}, render: plain},
		"manufacturer":         {label: Text{"Өндіруші", "Производитель"}, render: plain},
		"standard":             {label: Text{"Өтініш берушінің стандарты (нормативтік құжат)", "Стандарт заявителя (нормативный документ)"}, render: plain},
		"previous_certificate": {label: Text{"Бұрынғы тіркеу куәлігі", "Прежнее регистрационное удостоверение"}, render: plain},
		"reorganisation":       {label: Text{"Қайта ұйымдастыру", "Реорганизация"}, render: plain},
		"returned":             {label: Text{"Өтініш берушіге қайтарылған құжаттар", "Документы, возвращённые заявителю"}, render: missing},
		"consignment":          {label: Text{"Жүк", "Груз"}, render: enumField("consignment")},
		"export_country":       {label: Text{"Экспорт елі", "Страна экспорта"}, render: plain},
		"references":           {label: Text{"Ветеринариялық анықтамалар", "Ветеринарные справки"}, render: missing},
		"laboratory":           {label: Text{"Зертхана", "Лаборатория"}, render: plain},
		"lab_act":              {label: Text{"Зертханалық сараптама актісі", "Акт лабораторной экспертизы"}, render: plain},
		"lab_tests":            {label: Text{"Зерттеулер мен нәтижелері", "Исследования и результаты"}, render: missing},
		"vehicle_plate":        {label: Text{"Көлік құралының нөмірі", "Номер транспортного средства"}, render: plain},
		"seal":                 {label: Text{"Пломба", "Пломба"}, render: plain},
		"application_date":     {label: Text{"Өтініш берілген күні", "Дата заявления"}, render: plain},
		"object_kind":          {label: Text{"Объектінің түрі", "Вид объекта"}, render: enumField("object_kind")},
		"address":              {label: Text{"Мекенжайы", "Адрес"}, render: plain},
		"act_date":             {label: Text{"Тексеру актісінің күні", "Дата акта обследования"}, render: plain},
		"executor":             {label: Text{"Тексерген маман", "Проводивший обследование"}, render: plain},
		"id_means":             {label: Text{"Бірдейлендіру тәсілі", "Способ идентификации"}, render: idMeans},
		"sex":                  {label: Text{"Жынысы", "Пол"}, render: enumField("sex")},
		"birth_date":           {label: Text{"Туған күні", "Дата рождения"}, render: plain},
		"breed":                {label: Text{"Тұқымы", "Порода"}, render: plain},
		"colour":               {label: Text{"Түсі", "Масть"}, render: plain},
		"nickname":             {label: Text{"Лақап аты", "Кличка"}, render: plain},
		"holding":              {label: Text{"Шаруашылық", "Хозяйство"}, render: plain},
		"owner":                {label: Text{"Иесі", "Владелец"}, render: plain},
		"previous_tag":         {label: Text{"Бұрынғы нөмірі", "Прежний номер"}, render: plain},
		"passport":             {label: Text{"Паспорттың нөмірі", "Номер паспорта"}, render: plain},
		"examination":          {label: Text{"Ветеринариялық тексеру", "Ветеринарный осмотр"}, render: examination},
		"applied_at":           {label: Text{"Өтініш берілген уақыты", "Время подачи заявления"}, render: plain},
		"decided_at":           {label: Text{"Шешім шығарылған уақыты", "Время принятия решения"}, render: plain},
		"offline":              {label: Text{"Байланыссыз берілді", "Выдано без связи"}, render: plain},
		"review_required":      {label: Text{"Қайта қарауды қажет етеді", "Требует проверки"}, render: plain},
		"ground":               {label: Text{"Негіздеме", "Основание"}, render: ground},
		// ground_kk is the Kazakh half of ground's sentence, printed with it.
		"ground_kk": {label: Text{"Негіздеме", "Основание"}, render: func(*Paper, string, any, map[string]any) {}},
		"grounds": {label: LabelGrounds, render: grounds,
			nested: []string{"code", "text_kk", "text_ru", "tag", "animal_id", "restriction_id", "decision", "decision.number", "decision.date", "test_id"}},
		"missing": {label: Text{"Жетіспейтін құжаттар", "Недостающие документы"}, render: missing},
		"identification": {label: Text{"Жануарлар", "Животные"}, render: animals,
			nested: []string{"id", "tag", "species", "passport", "state"}},
		"products": {label: Text{"Өнімдер мен шикізат", "Продукция и сырьё"}, render: products,
			nested: []string{"kind", "species", "quantity", "unit", "origin"}},
		"violations": {label: Text{"Бұзушылықтар", "Нарушения"}, render: violations,
			nested: []string{"code", "requirement", "description", "recommendation"}},
		"photos": {label: Text{"Фотосуреттер (дәлелдемелер)", "Фотографии (доказательства)"}, render: photos,
			nested: []string{"id", "sha256"}},
		"checked": {label: Text{"Тексерілген эпизоотиялық жағдай", "Проверенная эпизоотическая ситуация"}, render: checked,
			nested: []string{"at", "moment", "restrictions", "restrictions.id", "restrictions.version", "restrictions.kind",
				"restrictions.disease", "restrictions.disease_ru", "restrictions.territory", "restrictions.territory_ru",
				"restrictions.decision", "restrictions.decision.number", "restrictions.decision.date", "restrictions.start",
				"restrictions.concerns", "territory"}},
		// reference is the id of the reference record the paper was issued from: pinned by the hash,
		// but a bare UUID means nothing to a reader, and the paper's own number identifies it.
		"reference": {label: Text{"Анықтаманың есептік жазбасы", "Учётная запись справки"}, render: func(*Paper, string, any, map[string]any) {}},
	}
}

// Known reports whether the catalogue has words for a content key, or for a key of the objects
// under one ("grounds.code", "checked.restrictions.kind").
func Known(path string) bool {
	top, rest, nested := strings.Cut(path, ".")
	e, ok := catalogue[top]
	if !ok || !nested {
		return ok
	}
	for _, n := range e.nested {
		if n == rest {
			return true
		}
	}
	return false
}

// enums translate every enumerated value a content field holds.
var enums = map[string]map[string]Text{
	"service": {
		"veterinary reference (service 2)":           {"Ветеринариялық анықтама беру", "Выдача ветеринарной справки"},
		"veterinary-sanitary conclusion (service 1)": {"Ветеринариялық-санитариялық қорытынды беру", "Выдача ветеринарно-санитарного заключения"},
		"veterinary certificate for moved objects (service 7)": {"Орны ауыстырылатын объектілерге ветеринариялық сертификат беру",
			"Выдача ветеринарного сертификата на перемещаемые объекты"},
		"registration number of a production object (service 3)": {"Өндірістік объектілерге есептік нөмір беру",
			"Присвоение учетных номеров производственным объектам"},
		"attestation of persons doing veterinary business (service 5)": {"Ветеринария саласында кәсіпкерлік қызметті жүзеге асыратын тұлғаларды аттестаттау",
			"Аттестация лиц, осуществляющих предпринимательскую деятельность в области ветеринарии"},
		"licence for veterinary activity (service 6)": {"Ветеринария саласындағы қызметке лицензия беру",
			"Выдача лицензии на ветеринарную деятельность"},
		"registration certificate of feed and feed additives": {"Жемшөп пен жемшөп қоспаларын мемлекеттік тіркеу",
			"Государственная регистрация кормов и кормовых добавок"},
		"re-registration of feed and feed additives": {"Жемшөп пен жемшөп қоспаларын қайта тіркеу",
			"Перерегистрация кормов и кормовых добавок"},
		"registration certificate of a veterinary drug": {"Ветеринариялық препараттарды мемлекеттік тіркеу",
			"Государственная регистрация ветеринарных препаратов"},
		"re-registration of a veterinary drug": {"Ветеринариялық препараттарды қайта тіркеу",
			"Перерегистрация ветеринарных препаратов"},
	},
	"consignment": {
		"animals":  {"Жануарлар", "Животные"},
		"products": {"Жануарлардан алынатын өнімдер мен шикізат", "Продукция и сырьё животного происхождения"},
		"feed":     {"Жем", "Корма"},
	},
	"request": {
		"issue":             {"Есептік нөмір беру", "Присвоение учетного номера"},
		"reissue":           {"Атауы немесе ұйымдық-құқықтық нысаны өзгергенде қайта ресімдеу", "Переоформление при изменении наименования или организационно-правовой формы"},
		"slaughter_confirm": {"Мал сою алаңының есептік нөмірін растау", "Подтверждение учетного номера убойной площадки"},
		"duplicate":         {"Лицензияның телнұсқасын беру", "Выдача дубликата лицензии"},
		"licence_issue":     {"Лицензия беру", "Выдача лицензии"},
		"licence_reissue":   {"Лицензияны қайта ресімдеу", "Переоформление лицензии"},
		"licence_duplicate": {"Лицензияның телнұсқасын беру", "Выдача дубликата лицензии"},
		"rereg_change": {"Атауы, орналасқан жері өзгергенде немесе қайта ұйымдастырылғанда қайта тіркеу",
			"Перерегистрация при изменении наименования, местонахождения или реорганизации"},
		"rereg_expiry": {"Куәліктің қолданылу мерзімі өткенде қайта тіркеу", "Перерегистрация по истечении срока действия удостоверения"},
	},
	"interview_result": {
		"passed": {"Өтті", "Пройдено"},
		"failed": {"Өтпеді", "Не пройдено"},
	},
	"result": {
		"attested":           {"Аттестатталды", "Аттестован"},
		"re_attestation":     {"Қайта аттестаттауға жатады", "Подлежит переаттестации"},
		"not_attested":       {"Аттестатталмады", "Не аттестован"},
		epizootic.RefIssued:  {"Анықтама берілді", "Справка выдана"},
		epizootic.RefRefused: {"Анықтама беруден бас тартылды", "В выдаче справки отказано"},
	},
	"outcome": {
		"conformity":     {"Ветеринариялық-санитариялық талаптарға сәйкес келеді", "Соответствует ветеринарно-санитарным требованиям"},
		"non_conformity": {"Ветеринариялық-санитариялық талаптарға сәйкес келмейді", "Не соответствует ветеринарно-санитарным требованиям"},
	},
	"purpose": {
		string(epizootic.PurposeSale):       {"Сату", "Продажа"},
		string(epizootic.PurposeMovement):   {"Басқа жерге көшіру", "Перемещение"},
		string(epizootic.PurposeSlaughter):  {"Сою", "Убой"},
		string(epizootic.PurposeGrazing):    {"Маусымдық жайылым", "Сезонный выпас"},
		string(epizootic.PurposeExhibition): {"Көрме", "Выставка"},
		string(epizootic.PurposeProcessing): {"Өңдеу", "Переработка"},
	},
	"object_kind": {
		"farm":             {"Мал шаруашылығы", "Животноводческое хозяйство"},
		"feedlot":          {"Бордақылау алаңы", "Откормочная площадка"},
		"slaughter_site":   {"Мал сою алаңы", "Убойная площадка"},
		"processing_plant": {"Өңдеу кәсіпорны", "Перерабатывающее предприятие"},
		"storage":          {"Сақтау қоймасы", "Склад хранения"},
		"market":           {"Базар", "Рынок"},
		"vet_pharmacy":     {"Ветеринариялық дәріхана", "Ветеринарная аптека"},
		"feed_producer":    {"Жем өндіруші", "Производитель кормов"},
	},
	"sex": {
		"female": {"Ұрғашы", "Самка"},
		"male":   {"Еркек", "Самец"},
	},
	"id_means": {
		string(domain.MeansEarTag): {"Сырға", "Бирка"},
		string(domain.MeansBolus):  {"Болюс", "Болюс"},
		string(domain.MeansChip):   {"Микрочип", "Микрочип"},
		string(domain.MeansTattoo): {"Татуировка", "Татуировка"},
		string(domain.MeansBrand):  {"Таңба", "Тавро"},
	},
	"examination": {
		epizootic.ExamHealthy:   {"Сау", "Здоровы"},
		epizootic.ExamUnhealthy: {"Ауру белгілері анықталды", "Выявлены признаки болезни"},
	},
	"state": {
		"ok":                          {"Талаптарға сай", "В порядке"},
		epizootic.GroundNotIdentified: {"Дерекқорда жоқ", "Нет в базе данных"},
		epizootic.GroundNotActive:     {"Тізілімнен шығарылған", "Снято с учёта"},
		epizootic.GroundNoPassport:    {"Паспорты жоқ", "Нет паспорта"},
		epizootic.GroundAwaitingTags:  {"Сырғасы ауыстырылуда", "Ожидает замены бирки"},
		epizootic.GroundOldNumber:     {"Ескі нөмір", "Прежний номер"},
		epizootic.GroundInTransit:     {"Жолда", "В пути"},
		epizootic.GroundRestriction:   {"Шектеу қолданылады", "Действует ограничение"},
		epizootic.GroundExamination:   {"Тексеру нәтижесі бойынша", "По результатам осмотра"},
		epizootic.GroundVet:           {"Дәрігердің негіздемесі", "Основание ветврача"},
		epizootic.GroundPositiveTest:  {"Зерттеу нәтижесі оң", "Положительный результат исследования"},
	},
	"moment": {
		"application": {"Өтініш берілген кезде", "На момент подачи заявления"},
		"issue":       {"Анықтама берілген кезде", "На момент выдачи"},
		"sync":        {"Серверге түскен кезде", "На момент поступления на сервер"},
		"dispatch":    {"Жөнелтілген кезде", "На момент отправки"},
	},
}

// enum translates value of the enumeration name; an unknown value is printed as it is and
// reported.
func (p *Paper) enum(name, key, value string) Text {
	if t, ok := enums[name][value]; ok {
		return t
	}
	p.Unlabelled = append(p.Unlabelled, key+"="+value)
	return Same(value)
}

// species names an animal species; an unknown code is printed as it is and reported.
func (p *Paper) species(key, code string) Text {
	s := domain.Species(code)
	if !s.Valid() {
		p.Unlabelled = append(p.Unlabelled, key+"="+code)
		return Same(code)
	}
	return Text{s.Name("kk"), s.Name("ru")}
}

func plain(p *Paper, key string, v any, _ map[string]any) {
	p.field(key, catalogue[key].label, scalar(v))
}

func enumField(name string) func(*Paper, string, any, map[string]any) {
	return func(p *Paper, key string, v any, _ map[string]any) {
		p.field(key, catalogue[key].label, p.enum(name, key, str(v)))
	}
}

// idMeans prints the identifiers an animal carries ("ear_tag 398…; bolus 643…") with each means
// in words.
func idMeans(p *Paper, key string, v any, _ map[string]any) {
	var kk, ru []string
	for _, part := range strings.Split(str(v), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		means, num, _ := strings.Cut(part, " ")
		t := p.enum("id_means", key, means)
		kk, ru = append(kk, strings.TrimSpace(t.KK+" "+num)), append(ru, strings.TrimSpace(t.RU+" "+num))
	}
	p.field(key, catalogue[key].label, Text{strings.Join(kk, "; "), strings.Join(ru, "; ")})
}

// examination prints the result of the examination ("healthy", or "unhealthy: what was found").
func examination(p *Paper, key string, v any, _ map[string]any) {
	result, note, _ := strings.Cut(str(v), ":")
	t := p.enum("examination", key, strings.TrimSpace(result))
	if note = strings.TrimSpace(note); note != "" {
		t = Text{t.KK + ": " + note, t.RU + ": " + note}
	}
	p.field(key, catalogue[key].label, t)
}

// ground prints a refusal's ground in one sentence (ground_kk holding its Kazakh), unless the
// grounds are listed one by one.
func ground(p *Paper, key string, v any, all map[string]any) {
	if !empty(all["grounds"]) {
		return
	}
	t := Text{firstNonEmpty(str(all["ground_kk"]), str(v)), str(v)}
	p.Grounds = append(p.Grounds, t)
	p.field(key, catalogue[key].label, t)
}

// rows reads a list of objects and reports the keys its renderer does not know.
func (p *Paper) rows(key string, v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	known := map[string]bool{}
	for _, n := range catalogue[key].nested {
		known[n] = true
	}
	seen := map[string]bool{}
	var check func(prefix string, m map[string]any)
	check = func(prefix string, m map[string]any) {
		for k, x := range m {
			path := prefix + k
			if !known[path] && !seen[path] {
				seen[path] = true
				p.Unlabelled = append(p.Unlabelled, key+"."+path)
			}
			switch y := x.(type) {
			case map[string]any:
				check(path+".", y)
			case []any:
				for _, e := range y {
					if m, ok := e.(map[string]any); ok {
						check(path+".", m)
					}
				}
			}
		}
	}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			m = map[string]any{"": e}
		}
		check("", m)
		out = append(out, m)
	}
	return out
}

func (p *Paper) table(key string, columns []Text, rows [][]Text) {
	p.Tables = append(p.Tables, Table{Key: key, Label: catalogue[key].label, Columns: columns, Rows: rows})
}

var colNo = Same("№")

func grounds(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for i, g := range p.rows(key, v) {
		t := Text{str(g["text_kk"]), str(g["text_ru"])}
		p.Grounds = append(p.Grounds, t)
		rows = append(rows, []Text{Same(fmt.Sprint(i + 1)), t})
	}
	p.table(key, []Text{colNo, {"Негіздеме", "Основание"}}, rows)
}

func missing(p *Paper, key string, v any, _ map[string]any) {
	list, _ := v.([]any)
	var rows [][]Text
	names := make([]string, 0, len(list))
	for i, m := range list {
		rows = append(rows, []Text{Same(fmt.Sprint(i + 1)), Same(flat(m))})
		names = append(names, flat(m))
	}
	label := catalogue[key].label
	p.Grounds = append(p.Grounds, Text{label.KK + ": " + strings.Join(names, ", "), label.RU + ": " + strings.Join(names, ", ")})
	p.table(key, []Text{colNo, {"Құжат", "Документ"}}, rows)
}

func animals(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for _, a := range p.rows(key, v) {
		sp := Same("")
		if s := str(a["species"]); s != "" {
			sp = p.species(key+".species", s)
		}
		rows = append(rows, []Text{Same(str(a["tag"])), sp, Same(str(a["passport"])), p.enum("state", key+".state", str(a["state"]))})
	}
	p.table(key, []Text{LabelTag, {"Түрі", "Вид"}, {"Паспорты", "Паспорт"}, {"Жағдайы", "Состояние"}}, rows)
}

func products(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for _, x := range p.rows(key, v) {
		kind := epizootic.ProductKind(str(x["kind"]))
		kt := Same(string(kind))
		if kind.Valid() {
			kt = Text{kind.Name("kk"), kind.Name("ru")}
		} else {
			p.Unlabelled = append(p.Unlabelled, key+".kind="+string(kind))
		}
		sp := Same("")
		if s := str(x["species"]); s != "" {
			sp = p.species(key+".species", s)
		}
		rows = append(rows, []Text{kt, sp, Same(strings.TrimSpace(str(x["quantity"]) + " " + str(x["unit"]))), Same(str(x["origin"]))})
	}
	p.table(key, []Text{{"Түрі", "Вид"}, LabelSpecies, {"Мөлшері", "Количество"}, {"Шығу тегі", "Происхождение"}}, rows)
}

func violations(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for _, x := range p.rows(key, v) {
		req := str(x["requirement"])
		if c := str(x["code"]); c != "" {
			req = c + " — " + req
		}
		rows = append(rows, []Text{Same(req), Same(str(x["description"])), Same(str(x["recommendation"]))})
	}
	p.table(key, []Text{{"Талап", "Требование"}, {"Бұзушылық", "Нарушение"}, {"Ұсыныс", "Рекомендация"}}, rows)
}

func photos(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for i, x := range p.rows(key, v) {
		rows = append(rows, []Text{Same(fmt.Sprint(i + 1)), Same(str(x["id"])), Same(str(x["sha256"]))})
	}
	p.table(key, []Text{colNo, {"Сурет", "Фото"}, Same("SHA-256")}, rows)
}

func checked(p *Paper, key string, v any, _ map[string]any) {
	var rows [][]Text
	for _, c := range p.rows(key, v) {
		at := Same(dateText(str(c["at"])))
		restr := no
		list, _ := c["restrictions"].([]any)
		var kk, ru []string
		for _, e := range list {
			r, _ := e.(map[string]any)
			k, r2 := restriction(p, key, r)
			kk, ru = append(kk, k), append(ru, r2)
		}
		if len(kk) > 0 {
			restr = Text{strings.Join(kk, "; "), strings.Join(ru, "; ")}
		}
		rows = append(rows, []Text{p.enum("moment", key+".moment", str(c["moment"])), at, restr})
	}
	p.table(key, []Text{{"Кезеңі", "Момент"}, {"Уақыты", "Время"}, {"Күшіндегі шектеулер", "Действующие ограничения"}}, rows)
}

// restriction words one restriction a check found: the measure, the disease, the territory and
// the decision that declared it.
func restriction(p *Paper, key string, r map[string]any) (kk, ru string) {
	kind := epizootic.RestrictionKind(str(r["kind"]))
	if !kind.Valid() {
		p.Unlabelled = append(p.Unlabelled, key+".restrictions.kind="+string(kind))
	}
	diseaseKK, diseaseRU := str(r["disease"]), str(r["disease_ru"])
	if d, err := epizootic.DiseaseByCode(diseaseKK, ""); err == nil {
		diseaseKK, diseaseRU = d.Name("kk"), d.Name("ru")
	}
	terr := firstNonEmpty(str(r["territory_ru"]), str(r["territory"]))
	dec, _ := r["decision"].(map[string]any)
	num, date := epizootic.BareNumber(str(dec["number"])), DMY(str(dec["date"]))
	kk = fmt.Sprintf("%s: %s (%s), %s № %s шешім", kindName(kind, "kk"), diseaseKK, terr, date, num)
	ru = fmt.Sprintf("%s: %s (%s), решение № %s от %s", kindName(kind, "ru"), diseaseRU, terr, num, date)
	if c, _ := r["concerns"].(bool); c {
		kk += " — осы өтінішке қатысты"
		ru += " — касается этого заявления"
	}
	return kk, ru
}

func kindName(k epizootic.RestrictionKind, lang string) string {
	if !k.Valid() {
		return string(k)
	}
	return k.Name(lang)
}
