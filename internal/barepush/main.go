// Command barepush pushes files to a registry as the blobs of one OCI
// manifest with the fewest requests the OCI distribution specification
// allows and nothing else: no declaration, no credential scan, no
// existence checks, no retries, no authentication. The benchmark (go run
// ./bench) runs it beside runid-oci and oras on the push of thousands of
// small documents, to measure how close to the registry's floor a Go
// client built on net/http can come at all on the machine:
//
//	go run ./internal/barepush -registry 127.0.0.1:5000 -repo bare -tag v1 docs/*.txt
//
// Each blob is a POST that opens an upload session and a PUT that
// finishes it with the bytes (-single: one POST with the digest and the
// bytes, which go-containerregistry's registry takes and Distribution
// does not), -concurrency at a time over kept-alive connections; then the
// empty config blob and the manifest. It prints the manifest's digest.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/runid/runid-oci/pack"
)

// options are barepush's flags.
type options struct {
	registry    string // host:port, plain HTTP
	repo, tag   string
	single      bool // one POST per blob instead of POST and PUT
	concurrency int
}

// maxBlob is the largest file barepush reads: it sends each blob from
// memory, as the small documents it is meant for are.
const maxBlob = 16 << 20

func main() {
	var o options
	flag.StringVar(&o.registry, "registry", "", "registry host:port, spoken to over plain HTTP")
	flag.StringVar(&o.repo, "repo", "bare", "repository")
	flag.StringVar(&o.tag, "tag", "v1", "tag of the manifest")
	flag.BoolVar(&o.single, "single", false, "send each blob as one POST with its digest (the specification's single-request upload)")
	flag.IntVar(&o.concurrency, "concurrency", 32, "blobs uploaded at once")
	flag.Parse()
	if o.registry == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: barepush -registry HOST:PORT [-repo NAME] [-tag TAG] [-single] [-concurrency N] FILE...")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	d, err := push(ctx, o, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "barepush:", err)
		os.Exit(1)
	}
	fmt.Println(d)
}

// client is a net/http client that keeps as many idle connections to the
// registry as blobs go up at once, and gives up on a request after a
// minute.
func client(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// push uploads each file as a blob, then the empty config and a manifest
// that lists the files in order, tagged o.tag, and returns its digest.
func push(ctx context.Context, o options, files []string) (digest.Digest, error) {
	n := max(o.concurrency, 1)
	c := client(n)
	base := &url.URL{Scheme: "http", Host: o.registry, Path: "/v2/" + o.repo + "/"}
	// The specification's upload path ends in a slash, which JoinPath drops.
	uploads := base.JoinPath("blobs", "uploads")
	uploads.Path += "/"
	layers := make([]ocispec.Descriptor, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i, f := range files {
		g.Go(func() error {
			b, err := pack.ReadRegular(f, maxBlob)
			if err != nil {
				return err
			}
			layers[i] = ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}
			if err := pushBlob(gctx, c, uploads, o.single, layers[i].Digest, b); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	if err := pushBlob(ctx, c, uploads, o.single, ocispec.DescriptorEmptyJSON.Digest, ocispec.DescriptorEmptyJSON.Data); err != nil {
		return "", fmt.Errorf("empty config: %w", err)
	}
	m, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.runid.bench.barepush", Config: ocispec.DescriptorEmptyJSON, Layers: layers,
	})
	if err != nil {
		return "", err
	}
	u := base.JoinPath("manifests", o.tag)
	if err := send(ctx, c, http.MethodPut, u.String(), ocispec.MediaTypeImageManifest, m, http.StatusCreated, nil); err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	return digest.FromBytes(m), nil
}

// pushBlob uploads one blob to the repository's uploads URL: a POST that
// opens an upload session and a PUT with the bytes that closes it, or with
// single one POST that does both.
func pushBlob(ctx context.Context, c *http.Client, uploads *url.URL, single bool, d digest.Digest, b []byte) error {
	if single {
		u := *uploads
		u.RawQuery = url.Values{"digest": {d.String()}}.Encode()
		return send(ctx, c, http.MethodPost, u.String(), "application/octet-stream", b, http.StatusCreated, nil)
	}
	var loc string
	if err := send(ctx, c, http.MethodPost, uploads.String(), "", nil, http.StatusAccepted, func(r *http.Response) { loc = r.Header.Get("Location") }); err != nil {
		return err
	}
	if loc == "" {
		return errors.New("upload session opened without a Location")
	}
	l, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("upload Location %q: %w", loc, err)
	}
	u := uploads.ResolveReference(l)
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return send(ctx, c, http.MethodPut, u.String(), "application/octet-stream", b, http.StatusCreated, nil)
}

// send makes one request and checks that the answer has status want; seen,
// if given, reads the response's headers.
func send(ctx context.Context, c *http.Client, method, u, contentType string, body []byte, want int, seen func(*http.Response)) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %.200s", method, u, resp.Status, want, msg)
	}
	if seen != nil {
		seen(resp)
	}
	return nil
}
