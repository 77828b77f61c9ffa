package domain

import (
	"time"
	_ "time/tzdata" // a bare server or container may have no zoneinfo
)

// Almaty is the time zone of working days, deadlines and document dates: all of Kazakhstan has
// kept UTC+5 since March 2024.
var Almaty = mustLoadLocation("Asia/Almaty")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("domain: time zone " + name + ": " + err.Error())
	}
	return loc
}
