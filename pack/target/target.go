// Package target opens the stores that the CLI names, for harnesses as
// for the CLI: a remote repository ("registry/repository[:tag|@digest]")
// or, with Options.OCILayout, an OCI image layout directory or tar file
// ("PATH[:tag|@digest]", oras's convention). Open returns oras-go targets.
//
// A remote repository is reached over HTTPS (PlainHTTP for plain HTTP),
// with the TLS options of oras (Insecure, CAFile, CertFile and KeyFile),
// and credentials given (Username and Password, or a Credential function)
// or read from the Docker credential store: the Docker config or the file
// of RegistryConfig, and the credential helpers it names, through oras-go's
// credentials package. Login and Logout write that store. The zero Options
// open a remote repository over verified HTTPS with Docker's credentials.
package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack/layout"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// ErrInvalidReference: a target string cannot be parsed.
var ErrInvalidReference = errors.New("invalid reference")

// ErrReadOnly: a writable target was asked of an OCI layout tar file.
var ErrReadOnly = errors.New("target is read-only")

// Options say how to open a target. The zero value opens a remote
// repository over HTTPS with Docker-config credentials.
type Options struct {
	// OCILayout treats the reference as an OCI image layout directory or,
	// for reading, a tar file of one.
	OCILayout bool
	// PlainHTTP talks to the registry over plain HTTP. It is never a
	// fallback: without it, only HTTPS is used.
	PlainHTTP bool
	// Insecure accepts any certificate from the registry (HTTPS without
	// verification): for test registries only, as it lets anyone on the
	// path read and change what is sent. Default: certificates are verified.
	Insecure bool
	// CAFile is a PEM file of certificate authorities trusted for the
	// registry's certificate, in addition to the system's. Default: the
	// system's authorities only.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its private
	// key, presented to a registry that asks for one (mutual TLS). Both or
	// neither. Default: none.
	CertFile, KeyFile string
	// Username and Password are the registry credential, used instead of
	// the credential store. A Password without a Username is an identity
	// token (an OAuth2 refresh token), as with oras. Default: none, the
	// credential store is asked.
	Username, Password string
	// Credential, when set, supplies the credential for each registry host
	// instead of Username, Password and the credential store.
	Credential auth.CredentialFunc
	// RegistryConfig is the path of a Docker-style config file holding
	// credentials and naming credential helpers (credsStore, credHelpers).
	// Default: the Docker config (DOCKER_CONFIG or ~/.docker/config.json).
	RegistryConfig string
	// HTTPClient is the base client for remote registries. When it is set,
	// the TLS fields above must be empty (configure its transport instead).
	// Default: NewHTTPClient(o): TLS as above, timeouts, and retries of GET
	// and HEAD.
	HTTPClient *http.Client
	// IdleTimeout is the longest wait for a registry to send or take the
	// next bytes, or to answer once a request is sent (the HTTPClient
	// default only). Default: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Timeout bounds a whole metadata request (all but blob transfers)
	// (the HTTPClient default only). Default: DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent to registries. Default: "runid-oci".
	UserAgent string
}

// Target is an opened store and the reference (tag or digest, possibly
// empty) that the string named in it.
type Target struct {
	// Store is writable, except for an OCI layout tar (see ReadOnly).
	Store oras.ReadOnlyTarget
	// Reference is the tag or digest in the string, or "".
	Reference string
	// Display is the store part of the string, for messages and results
	// ("localhost:5000/runs" or "./runs").
	Display string
	// Remote is set for a remote repository.
	Remote *remote.Repository
	// LayoutPath is set for an OCI layout directory or tar.
	LayoutPath string
	// ReadOnly is true for an OCI layout tar file.
	ReadOnly bool
}

// Writable returns the store as an oras.Target, or ErrReadOnly.
func (t *Target) Writable() (oras.Target, error) {
	w, ok := t.Store.(oras.Target)
	if !ok || t.ReadOnly {
		return nil, fmt.Errorf("%s: %w (an OCI layout tar file can only be read)", t.Display, ErrReadOnly)
	}
	return w, nil
}

// String is the full reference: Display plus ":tag" or "@digest".
func (t *Target) String() string {
	switch {
	case t.Reference == "":
		return t.Display
	case strings.Contains(t.Reference, ":"):
		return t.Display + "@" + t.Reference
	default:
		return t.Display + ":" + t.Reference
	}
}

// Open opens the target named by ref. A layout directory that does not
// exist is created unless readOnly; a tar file is opened read-only.
func Open(ctx context.Context, ref string, readOnly bool, opts Options) (*Target, error) {
	if opts.OCILayout {
		return openLayout(ctx, ref, readOnly)
	}
	return openRemote(ref, opts)
}

// SplitLayoutReference splits "PATH[:tag|@digest]" into the path and the
// reference. A colon that is part of a Windows drive ("C:\x") is kept.
func SplitLayoutReference(s string) (path, ref string) {
	if i := strings.LastIndex(s, "@"); i > 0 && strings.Contains(s[i:], ":") {
		return s[:i], s[i+1:]
	}
	i := strings.LastIndex(s, ":")
	if i <= 0 || (i == 1 && len(s) > 2 && (s[2] == '\\' || s[2] == '/')) {
		return s, ""
	}
	if strings.ContainsAny(s[i+1:], `/\`) {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func openLayout(ctx context.Context, s string, readOnly bool) (*Target, error) {
	path, ref := SplitLayoutReference(s)
	if path == "" {
		return nil, fmt.Errorf("%w %q: empty OCI layout path", ErrInvalidReference, s)
	}
	t := &Target{Reference: ref, Display: path, LayoutPath: path}
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("open OCI layout tar %s: %w (mode %s)", path, ErrNotRegular, st.Mode().Type())
		}
		store, err := oci.NewFromTar(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open OCI layout tar %s: %w", path, err)
		}
		t.Store, t.ReadOnly = store, true
		return t, nil
	} else if err != nil && readOnly {
		return nil, fmt.Errorf("open OCI layout %s: %w", path, err)
	}
	for _, name := range []string{"oci-layout", "index.json"} {
		if err := refuseIrregular(filepath.Join(path, name)); err != nil {
			return nil, fmt.Errorf("open OCI layout %s: %w", path, err)
		}
	}
	store, err := layout.Open(ctx, path, layout.Options{Create: !readOnly})
	if err != nil {
		if readOnly {
			if l, lerr := openLenientLayout(path); lerr == nil {
				t.Store, t.ReadOnly = l, true
				return t, nil
			}
		}
		return nil, err
	}
	t.Store = store
	return t, nil
}

// ErrNotRegular: a file of an OCI layout (index.json, oci-layout, a tar
// file) is not a regular file: a named pipe would block the command, a
// device might never end. (The layout store refuses such blobs itself.)
var ErrNotRegular = errors.New("not a regular file")

// refuseIrregular fails for a path that exists and is not a regular file,
// without opening it.
func refuseIrregular(p string) error {
	st, err := os.Lstat(p)
	if err != nil || st.Mode().IsRegular() {
		return nil // a missing file is the store's to report
	}
	return fmt.Errorf("%s: %w (mode %s)", p, ErrNotRegular, st.Mode().Type())
}

func openRemote(s string, opts Options) (*Target, error) {
	r, err := registry.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v (want registry/repository[:tag|@digest]; use --oci-layout for a directory)", ErrInvalidReference, s, err)
	}
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalidReference, s, err)
	}
	repo.PlainHTTP = opts.PlainHTTP
	client, err := newAuthClient(opts)
	if err != nil {
		return nil, err
	}
	if client.Credential, err = opts.credential(r.Registry); err != nil {
		return nil, err
	}
	repo.Client = client
	return &Target{Store: repo, Remote: repo, Reference: r.Reference, Display: r.Registry + "/" + r.Repository}, nil
}

func userAgent(o Options) string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "runid-oci"
}
