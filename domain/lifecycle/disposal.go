package lifecycle

// Disposals records how an animal left the register.
type Disposals struct {
	Deps
}
