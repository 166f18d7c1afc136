package diff

import "errors"

// ErrInvalidSide: a comparison side names neither an identity (a store)
// nor a declaration, or both.
var ErrInvalidSide = errors.New("invalid comparison side")
