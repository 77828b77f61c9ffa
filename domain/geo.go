package domain

import (
	"math"
	"time"
)

// GeoPoint is a position from a GPS receiver. It is kept as plain numbers, not as a GeoJSON point
// under a 2dsphere index: the MongoDB-wire engine of the mongo adapter's tests has no geospatial
// index, and nothing in vetfield searches by distance yet.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
	// AccuracyM is the receiver's own estimate of its error in metres, 0 when it gave none.
	AccuracyM float64 `json:"accuracy_m,omitempty"`
}

// Kazakhstan lies within about 40.5–55.5° N and 46.5–87.4° E; the box below is a little wider, so a
// point near a border passes while a point with latitude and longitude swapped (a common slip when
// numbers are typed or a library orders them [lon, lat]) does not.
const (
	kzMinLat, kzMaxLat = 40.0, 56.0
	kzMinLon, kzMaxLon = 46.0, 88.0
	// maxAccuracyM is the worst accuracy worth recording: a fix worse than 10 km says nothing about
	// which farm the inspector stood at.
	maxAccuracyM = 10000
)

// Validate reports whether g is a usable position in Kazakhstan; field names the input at fault
// ("location").
func (g GeoPoint) Validate(field string) error {
	for _, v := range []float64{g.Lat, g.Lon, g.AccuracyM} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Invalid(field, "coordinates must be finite numbers")
		}
	}
	switch {
	case g.Lat < -90 || g.Lat > 90:
		return Invalid(field+".lat", "latitude %.6f is not between -90 and 90", g.Lat)
	case g.Lon < -180 || g.Lon > 180:
		return Invalid(field+".lon", "longitude %.6f is not between -180 and 180", g.Lon)
	case g.Lat < kzMinLat || g.Lat > kzMaxLat || g.Lon < kzMinLon || g.Lon > kzMaxLon:
		return Invalid(field, "%.6f, %.6f is outside Kazakhstan: are latitude and longitude swapped?", g.Lat, g.Lon)
	case g.AccuracyM < 0 || g.AccuracyM > maxAccuracyM:
		return Invalid(field+".accuracy_m", "accuracy is between 0 and %d metres", maxAccuracyM)
	}
	return nil
}

// Fix is where and when a device says something happened: the inspector's tablet at the start of a
// visit, or the camera when a photo was taken. DeviceTime is the tablet's clock, kept beside the
// server's time because tablets work offline and their clocks drift; rules are judged by the
// server's time.
type Fix struct {
	GPS        *GeoPoint  `json:"gps,omitempty"`
	DeviceTime *time.Time `json:"device_time,omitempty"`
}

// Validate checks a fix's position, if any, and that the device's clock is not absurd.
func (f Fix) Validate(field string, now time.Time) error {
	if f.GPS != nil {
		if err := f.GPS.Validate(field + ".gps"); err != nil {
			return err
		}
	}
	if f.DeviceTime != nil {
		// A tablet may have taken the picture days ago offline, but not in another decade.
		if f.DeviceTime.Before(now.AddDate(-1, 0, 0)) || f.DeviceTime.After(now.Add(24*time.Hour)) {
			return Invalid(field+".device_time", "the device's time %s is more than a year off the server's", f.DeviceTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// AreaKeys are the indexed copies of a territory that lists use: a record is listed under its
// oblast and its district, so a district vet's list is one index range, not a scan of the republic.
type AreaKeys struct {
	Oblast   string `json:"oblast"`
	District string `json:"district"`
}

// AreaOf returns the oblast and district codes (zero-padded to nine digits) of territory k.
func AreaOf(k Kato) AreaKeys {
	if len(k) != 9 {
		return AreaKeys{}
	}
	return AreaKeys{Oblast: string(k[:2]) + "0000000", District: string(k[:4]) + "00000"}
}

// AreaQuery chooses how to list the records of territory t: the index suffix ("all", "oblast" or
// "district") and its equality value. A territory below a district (a rural district or a
// settlement) is listed by its district and filtered further by the caller.
func AreaQuery(t Kato) (suffix string, eq []any) {
	switch {
	case t == "":
		return "all", nil
	case t.Level() == 1:
		return "oblast", []any{AreaOf(t).Oblast}
	default:
		return "district", []any{AreaOf(t).District}
	}
}

// Narrowest returns the smaller of two territories when one covers the other, and ok = false when
// they do not overlap. The empty territory is the whole republic.
func Narrowest(a, b Kato) (Kato, bool) {
	switch {
	case a.Covers(b):
		return b, true
	case b.Covers(a):
		return a, true
	}
	return "", false
}
