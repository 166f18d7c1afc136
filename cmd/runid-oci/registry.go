package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/pack/target"
)

// remoteFlags are the flags that say how to reach a registry and log in
// to it, named as oras names them.
type remoteFlags struct {
	insecure          bool
	caFile            string
	certFile, keyFile string
	username          string
	password          string
	passwordStdin     bool
}

// addTo registers the flags on fs with prefix ("", "from-" or "to-"); what
// names the registry in their help ("" or "SOURCE "). The unprefixed set
// has oras's short flags -u and -p, and --password-stdin.
func (r *remoteFlags) addTo(fs *pflag.FlagSet, prefix, what string) {
	short := func(s string) string {
		if prefix == "" {
			return s
		}
		return ""
	}
	fs.BoolVar(&r.insecure, prefix+"insecure", false, "talk to the "+what+"registry over HTTPS without checking its certificate (test registries only)")
	fs.StringVar(&r.caFile, prefix+"ca-file", "", "PEM file of certificate authorities to trust for the "+what+"registry's certificate, besides the system's")
	fs.StringVar(&r.certFile, prefix+"cert-file", "", "PEM TLS client certificate to present to the "+what+"registry (mutual TLS; with --"+prefix+"key-file)")
	fs.StringVar(&r.keyFile, prefix+"key-file", "", "PEM private key of the TLS client certificate of --"+prefix+"cert-file (not a signing key)")
	fs.StringVarP(&r.username, prefix+"username", short("u"), "", "username for the "+what+"registry (default: the credential store of --registry-config)")
	fs.StringVarP(&r.password, prefix+"password", short("p"), "", "password or identity token for the "+what+"registry (prefer --password-stdin)")
	if prefix == "" {
		fs.BoolVar(&r.passwordStdin, "password-stdin", false, "read the password or identity token from stdin")
	}
}

// maxPasswordStdin caps the password read from stdin.
const maxPasswordStdin = 64 << 10

// readPasswordStdin checks the credential flags of cmd and, with
// --password-stdin, reads the password from stdin into --password.
// --password and --password-stdin together are a usage error, as with oras
// and docker: which one was meant cannot be told.
func (a *app) readPasswordStdin(cmd *cobra.Command) error {
	fs := cmd.Flags()
	for _, prefix := range []string{"", "from-", "to-"} {
		if fs.Lookup(prefix+"cert-file") == nil {
			continue
		}
		if fs.Changed(prefix+"cert-file") != fs.Changed(prefix+"key-file") {
			return usageErrorf("--%scert-file and --%skey-file go together", prefix, prefix)
		}
		if prefix == "" && fs.Changed("password") && fs.Changed("password-stdin") {
			return usageErrorf("--password and --password-stdin cannot be used together: give the password one way")
		}
		if fs.Changed(prefix + "password") {
			fmt.Fprintf(a.stderr, "WARNING! Using --%spassword on the command line is insecure (it shows in the process list and shell history). Use --password-stdin.\n", prefix)
		}
	}
	if f := fs.Lookup("password-stdin"); f != nil && f.Value.String() == "true" {
		if err := a.passwordFromStdin(fs); err != nil {
			return err
		}
	}
	if cmd.Name() == "login" {
		return nil // login asks for a missing password
	}
	for _, prefix := range []string{"", "from-", "to-"} {
		if u := fs.Lookup(prefix + "username"); u != nil && u.Value.String() != "" && fs.Lookup(prefix+"password").Value.String() == "" {
			return usageErrorf("--%susername needs a password: give it with --password-stdin (or --%spassword)", prefix, prefix)
		}
	}
	return nil
}

// passwordFromStdin reads the password from stdin into --password.
func (a *app) passwordFromStdin(fs *pflag.FlagSet) error {
	data, err := io.ReadAll(io.LimitReader(a.stdin, maxPasswordStdin+1))
	if err != nil {
		return fmt.Errorf("--password-stdin: read stdin: %w", err)
	}
	if len(data) > maxPasswordStdin {
		return usageErrorf("--password-stdin: more than %d bytes on stdin", maxPasswordStdin)
	}
	secret := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if secret == "" {
		return usageErrorf("--password-stdin: stdin is empty")
	}
	return fs.Set("password", secret)
}

// options are the target options of the flags, with plainHTTP and
// registryConfig.
func (r *remoteFlags) options(plainHTTP bool, registryConfig string) target.Options {
	return target.Options{
		PlainHTTP: plainHTTP, RegistryConfig: registryConfig,
		Insecure: r.insecure, CAFile: r.caFile, CertFile: r.certFile, KeyFile: r.keyFile,
		Username: r.username, Password: r.password,
	}
}

// loginResult is the output of login and logout.
type loginResult struct {
	Registry string `json:"registry"`
}

func newLoginCmd(a *app) *cobra.Command {
	var rf remoteFlags
	var plainHTTP bool
	var registryConfig string
	cmd := &cobra.Command{
		Use:   "login REGISTRY",
		Short: "Log in to a registry: check a credential and store it for later commands",
		Long: `Check a username and password (or an identity token, given without a
username) against REGISTRY (host[:port]) and store it in the Docker credential
store: the config file of --registry-config (default: the Docker config,
DOCKER_CONFIG or ~/.docker/config.json), or the credential helper that file
names (credsStore, credHelpers). Later commands, oras and docker find it there.

Give the password with --password-stdin; -p/--password works but shows it in
the process list. Both together are a usage error. Without either, login asks
for it when stdin is a terminal.`,
		Example: `  echo "$PASSWORD" | runid-oci login registry.example -u alice --password-stdin
  runid-oci login localhost:5000 -u alice --password-stdin --ca-file ./ca.pem < password.txt`,
		Args: exactArgs("REGISTRY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.promptCredential(&rf); err != nil {
				return err
			}
			opts := rf.options(plainHTTP, registryConfig)
			if err := target.Login(cmd.Context(), args[0], target.LoginCredential(rf.username, rf.password), opts); err != nil {
				return err
			}
			return a.render(loginResult{Registry: args[0]}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, "Login Succeeded")
				return err
			})
		},
	}
	f := cmd.Flags()
	rf.addTo(f, "", "")
	f.BoolVar(&plainHTTP, "plain-http", false, "talk to the registry over plain HTTP instead of HTTPS (never a silent fallback)")
	f.StringVar(&registryConfig, "registry-config", "", "path of the Docker-style config file to store the credential in (default: the Docker config)")
	return cmd
}

// promptCredential asks for what the flags did not give, when stdin is a
// terminal; otherwise a missing password is a usage error.
func (a *app) promptCredential(rf *remoteFlags) error {
	if rf.password != "" {
		return nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageErrorf("login needs a password: give it with --password-stdin (or -p/--password)")
	}
	if rf.username == "" {
		fmt.Fprint(a.stderr, "Username: ")
		var line []byte
		buf := make([]byte, 1)
		for len(line) < 1024 {
			n, err := f.Read(buf)
			if n == 0 || err != nil || buf[0] == '\n' {
				break
			}
			line = append(line, buf[0])
		}
		rf.username = strings.TrimSpace(string(line))
	}
	fmt.Fprint(a.stderr, "Password: ")
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	if rf.password = string(pw); rf.password == "" {
		return usageErrorf("login needs a password")
	}
	return nil
}

func newLogoutCmd(a *app) *cobra.Command {
	var registryConfig string
	cmd := &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Log out of a registry: remove its stored credential",
		Long: `Remove the credential of REGISTRY (host[:port]) from the Docker credential
store of --registry-config (default: the Docker config). Logging out of a
registry with no stored credential succeeds.`,
		Example: `  runid-oci logout registry.example`,
		Args:    exactArgs("REGISTRY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := target.Logout(cmd.Context(), args[0], target.Options{RegistryConfig: registryConfig}); err != nil {
				return err
			}
			return a.render(loginResult{Registry: args[0]}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Removed the credential of %s\n", args[0])
				return err
			})
		},
	}
	cmd.Flags().StringVar(&registryConfig, "registry-config", "", "path of the Docker-style config file to remove the credential from (default: the Docker config)")
	return cmd
}

// registryHint says what to do about an error reaching a registry: which
// flag or command addresses it, naming only flags cmd has.
func registryHint(cmd *cobra.Command, err error) string {
	flags := func(name string) string {
		var have []string
		for _, prefix := range []string{"", "from-", "to-"} {
			if cmd != nil && cmd.Flags().Lookup(prefix+name) != nil {
				have = append(have, "--"+prefix+name)
			}
		}
		return strings.Join(have, " or ")
	}
	msg := err.Error()
	host := errorHost(err)
	if host == "" {
		host = "REGISTRY"
	}
	var er *errcode.ErrorResponse
	switch {
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		if f := flags("plain-http"); f != "" {
			return "The registry speaks plain HTTP, not HTTPS: add " + f + "."
		}
	case errors.As(err, &er) && er.StatusCode == http.StatusBadRequest && len(er.Errors) == 0 && er.URL != nil && er.URL.Scheme == "http":
		// Go's HTTPS servers answer a plain HTTP request with a bare 400.
		if f := flags("plain-http"); f != "" {
			return "If the registry speaks HTTPS, drop " + f + "."
		}
	case errors.Is(err, auth.ErrBasicCredentialNotFound),
		errors.As(err, &er) && er.StatusCode == http.StatusUnauthorized:
		h := fmt.Sprintf("The registry wants a credential it accepts: log in with 'runid-oci login %s' (or 'docker login %s')", host, host)
		if f := flags("username"); f == "--username" {
			h += ", or give -u/--username with --password-stdin"
		}
		return h + "."
	case errors.As(err, new(x509.UnknownAuthorityError)):
		if f := flags("ca-file"); f != "" {
			return "The registry's certificate is signed by an authority this machine does not trust: give that authority's PEM certificate with " + f + ", or, for a test registry only, skip the check with " + flags("insecure") + "."
		}
	case errors.As(err, new(x509.HostnameError)):
		if f := flags("insecure"); f != "" {
			return "The registry's certificate is not for the name used to reach it: use the name it was issued for, or, for a test registry only, skip the check with " + f + "."
		}
	case strings.Contains(msg, "tls: certificate required"), strings.Contains(msg, "tls: unknown certificate authority"), strings.Contains(msg, "tls: bad certificate"):
		if f := flags("cert-file"); f != "" {
			return "The registry wants a client certificate it trusts: give it with " + f + " and " + flags("key-file") + "."
		}
	}
	return ""
}

// errorHost is the host of the request that err reports, or "".
func errorHost(err error) string {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && er.URL != nil {
		return er.URL.Host
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return u.Host
		}
	}
	// oras-go reports other failures of a request as: METHOD "URL": error.
	if m := quotedURL().FindStringSubmatch(err.Error()); m != nil {
		if u, perr := url.Parse(m[1]); perr == nil {
			return u.Host
		}
	}
	return ""
}

var quotedURL = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"(https?://[^"/]+/[^"]*)"`) })
