package lifecycle

// Movements dispatches animals from one holding to another (or to an object, or abroad) under a
// veterinary reference, and receives them at the destination.
type Movements struct {
	Deps
}
