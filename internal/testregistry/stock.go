package testregistry

import (
	"net/http"
	"testing"
)

// NewStockDistributionHandler returns the HTTP handler of a fresh CNCF
// Distribution v3 registry configured as it ships: deletes disabled, so
// that deleting a manifest is refused with 405 Method Not Allowed. Like
// [NewDistributionHandler] it has its own in-memory store, no referrers
// API and logging silenced.
func NewStockDistributionHandler(t testing.TB) http.Handler {
	t.Helper()
	return newDistributionApp(t, nil, false)
}

// StartStockDistribution starts a fresh Distribution registry configured
// as it ships (see [NewStockDistributionHandler]).
func StartStockDistribution(t testing.TB) *Registry {
	t.Helper()
	return Serve(t, NewStockDistributionHandler(t))
}
