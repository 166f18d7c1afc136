// Package testregistry starts real OCI registries in-process on 127.0.0.1
// for tests.
//
// Two implementations are provided:
//
//   - CNCF Distribution v3 ([StartDistribution]): in-memory storage, deletes
//     enabled, and NO referrers API, so clients must use the referrers
//     tag-schema fallback.
//   - go-containerregistry's registry ([StartGGCR]): in-memory, with the OCI
//     1.1 referrers API enabled.
//
// [StartSecureDistribution] serves Distribution over HTTPS with a
// certificate from a test CA made in the test, optionally with htpasswd
// authentication and required client certificates (mutual TLS).
//
// Every registry gets a fresh, private store and is shut down by
// t.Cleanup. The bare handlers ([NewDistributionHandler], [NewGGCRHandler])
// can be wrapped, e.g. by a fault-injecting handler, and served with [Serve].
package testregistry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sirupsen/logrus"
	"oras.land/oras-go/v2/registry/remote"

	// Registers the "inmemory" storage driver factory used by the
	// Distribution configuration.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Registry is a running in-process registry on 127.0.0.1, serving plain
// HTTP unless started by [StartSecureDistribution]. It is closed
// automatically when the test that started it ends.
type Registry struct {
	// Host is the registry address as host:port, suitable as the registry
	// part of a reference such as Host + "/repo:tag".
	Host string
	// URL is the base URL of the registry, e.g. "http://127.0.0.1:40123".
	URL string
	// Handler is the HTTP handler being served.
	Handler http.Handler
	// CA is the authority that signed the registry's certificate (HTTPS
	// registries only); CA.File is its PEM file.
	CA *CA
	// ClientCertFile and ClientKeyFile are a client certificate signed by
	// CA and its key, which a registry that requires client certificates
	// accepts.
	ClientCertFile, ClientKeyFile string
}

// Ref returns the reference "Host/name:tag" for a tag or "Host/name@digest"
// for a digest (anything containing ':'). An empty ref yields "Host/name".
func (r *Registry) Ref(name, ref string) string {
	base := r.Host + "/" + name
	switch {
	case ref == "":
		return base
	case strings.Contains(ref, ":"):
		return base + "@" + ref
	default:
		return base + ":" + ref
	}
}

var silenceLogrus sync.Once

// NewDistributionHandler returns the HTTP handler of a fresh CNCF
// Distribution v3 registry with its own in-memory store, deletes enabled,
// upload purging disabled and logging silenced. It does not implement the
// referrers API.
func NewDistributionHandler(t testing.TB) http.Handler {
	t.Helper()
	return newDistributionApp(t, nil, true)
}

// newDistributionApp is a fresh Distribution app with the given auth
// configuration (none when nil), deleting manifests only when deletes is
// set (Distribution as it ships refuses deletes with 405).
func newDistributionApp(t testing.TB, auth configuration.Auth, deletes bool) http.Handler {
	t.Helper()
	// Distribution logs through the logrus standard logger (including an
	// error line for every 404). It is process-global, so silence it once.
	silenceLogrus.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	})

	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			"delete":   configuration.Parameters{"enabled": deletes},
			"redirect": configuration.Parameters{"disable": true},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
	}
	config.HTTP.Secret = "runid-oci-testregistry"
	config.Auth = auth

	app := handlers.NewApp(context.Background(), config)
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("testregistry: shut down distribution: %v", err)
		}
	})
	return app
}

// NewGGCRHandler returns the HTTP handler of a fresh go-containerregistry
// in-memory registry with the OCI referrers API enabled and logging
// discarded.
//
// The handler is wrapped so that its referrers support behaves as the OCI
// distribution-spec v1.1 requires: a manifest PUT with a subject answers
// with the OCI-Subject header, referrers descriptors carry the manifest's
// artifactType (go-containerregistry v0.22.1 reports config.mediaType
// instead), the artifactType query filter is applied with
// OCI-Filters-Applied, and referrers are ordered by digest.
func NewGGCRHandler(t testing.TB) http.Handler {
	t.Helper()
	return ggcrConformance{next: registry.New(
		registry.WithReferrersSupport(true),
		registry.Logger(log.New(io.Discard, "", 0)),
	)}
}

// Serve serves h over plain HTTP on 127.0.0.1 until the test ends.
func Serve(t testing.TB, h http.Handler) *Registry {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Registry{
		Host:    strings.TrimPrefix(srv.URL, "http://"),
		URL:     srv.URL,
		Handler: h,
	}
}

// StartDistribution starts a fresh CNCF Distribution v3 registry (see
// [NewDistributionHandler]). It may be called any number of times; every
// call gets an independent store.
func StartDistribution(t testing.TB) *Registry {
	t.Helper()
	return Serve(t, NewDistributionHandler(t))
}

// StartGGCR starts a fresh go-containerregistry registry with the referrers
// API enabled (see [NewGGCRHandler]).
func StartGGCR(t testing.TB) *Registry {
	t.Helper()
	return Serve(t, NewGGCRHandler(t))
}

// Repository returns an oras-go repository client for name on reg, talking
// plain HTTP. It fails the test if name is not a valid repository name.
func Repository(t testing.TB, reg *Registry, name string) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(reg.Host + "/" + name)
	if err != nil {
		t.Fatalf("testregistry: repository %q: %v", name, err)
	}
	repo.PlainHTTP = true
	return repo
}
