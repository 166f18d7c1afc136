package testregistry

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
)

// NewStockDistributionHandler returns the HTTP handler of a fresh CNCF
// Distribution v3 registry configured as it ships: deletes disabled, so
// that deleting a manifest is refused with 405 Method Not Allowed. Like
// [NewDistributionHandler] it has its own in-memory store, no referrers
// API and logging silenced.
func NewStockDistributionHandler(t testing.TB) http.Handler {
	t.Helper()
	silenceLogrus.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	})
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			"redirect": configuration.Parameters{"disable": true},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
	}
	config.HTTP.Secret = "runid-oci-testregistry"
	app := handlers.NewApp(context.Background(), config)
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("testregistry: shut down distribution: %v", err)
		}
	})
	return app
}

// StartStockDistribution starts a fresh Distribution registry configured
// as it ships (see [NewStockDistributionHandler]).
func StartStockDistribution(t testing.TB) *Registry {
	t.Helper()
	return Serve(t, NewStockDistributionHandler(t))
}
