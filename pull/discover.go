package pull

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/spec"
)

// Defaults of DiscoverOptions.
const (
	// DefaultDiscoverDepth is how many levels of referrers below the root
	// Discover lists by default.
	DefaultDiscoverDepth = 3
	// DefaultMaxReferrersPerNode is how many referrers of one node Discover
	// shows by default.
	DefaultMaxReferrersPerNode = 1000
	// DefaultMaxReferrerPages is how many pages of a referrers listing
	// Discover reads per node by default.
	DefaultMaxReferrerPages = 100
	// DefaultMaxNodes is how many nodes a tree has at most by default.
	DefaultMaxNodes = 10000
)

// NodeKind is what a node of a discovered tree is, confirmed from its
// manifest (spec/SPEC.md §8.3).
type NodeKind string

// Node kinds.
const (
	// KindIdentity: a run identity (artifactType application/vnd.runid.identity.v1).
	KindIdentity NodeKind = "identity"
	// KindOutput: an output record (spec/SPEC.md §8.1).
	KindOutput NodeKind = "output"
	// KindLink: a link naming the identity that produced its subject
	// (spec/SPEC.md §8.2).
	KindLink NodeKind = "link"
	// KindSignature: a cosign, Sigstore bundle or Notary signature.
	KindSignature NodeKind = "signature"
	// KindOther: any other manifest or index.
	KindOther NodeKind = "other"
)

// DiscoverOptions configure Discover. The zero value is valid.
type DiscoverOptions struct {
	// MaxDepth is how many levels of referrers below the root are listed.
	// Default: DefaultDiscoverDepth.
	MaxDepth int
	// MaxReferrersPerNode is how many referrers of one node are shown; more
	// are counted in Node.Omitted and the node is marked Truncated.
	// Default: DefaultMaxReferrersPerNode.
	MaxReferrersPerNode int
	// MaxPages is how many pages of one node's referrers listing are read.
	// Default: DefaultMaxReferrerPages.
	MaxPages int
	// MaxNodes bounds the whole tree. Default: DefaultMaxNodes.
	MaxNodes int
	// ArtifactType, if set, keeps only referrers whose artifactType, as
	// read from their manifest, is this one (at every level; the root is
	// always shown).
	ArtifactType string
	// Repository, if set, names the store in each Node.Reference
	// ("Repository@digest"), as oras discover does.
	Repository string
	// MaxMetadataSize caps each manifest and output or link document read.
	// Default: spec.DefaultMaxMetadataSize.
	MaxMetadataSize int64
	// Concurrency is how many listings or manifest reads run at once.
	// Default: DefaultConcurrency.
	Concurrency int
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

func (o DiscoverOptions) withDefaults() DiscoverOptions {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultDiscoverDepth
	}
	if o.MaxReferrersPerNode <= 0 {
		o.MaxReferrersPerNode = DefaultMaxReferrersPerNode
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxReferrerPages
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.MaxMetadataSize <= 0 {
		o.MaxMetadataSize = spec.DefaultMaxMetadataSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Node is one manifest of a discovered tree: the root, or a referrer of
// its parent. Its JSON form extends the one of "oras discover --format
// json" (reference, descriptor members, referrers).
type Node struct {
	// Reference is DiscoverOptions.Repository@digest, when a repository
	// was given.
	Reference string `json:"reference,omitempty"`
	// Descriptor describes the manifest as read: digest and size of its
	// bytes, media type, artifactType (the manifest's artifactType, or its
	// config media type when it has none) and manifest annotations. A
	// listing's claims are not kept: a registry may report the config media
	// type as artifactType.
	ocispec.Descriptor
	// Kind is what the manifest is.
	Kind NodeKind `json:"kind"`
	// Via is "tag" for a cosign signature found under its tag convention
	// (sha256-<hex>.sig) rather than as a referrer.
	Via string `json:"via,omitempty"`
	// Identity is the identity a link names.
	Identity *spec.LinkedIdentity `json:"identity,omitempty"`
	// Files are the files an output record carries.
	Files []ocispec.Descriptor `json:"files,omitempty"`
	// Execution holds the execution facts of an output record.
	Execution map[string]any `json:"execution,omitempty"`
	// Referrers are the referrers listed, sorted by kind, creation time and
	// digest.
	Referrers []*Node `json:"referrers"`
	// Truncated is true when referrers were left out: over
	// MaxReferrersPerNode, MaxPages or MaxNodes.
	Truncated bool `json:"truncated,omitempty"`
	// Omitted counts referrers seen but left out. When a listing was
	// stopped before its end, more may exist.
	Omitted int `json:"omitted,omitempty"`
	// DepthLimited is true when the node's referrers were not listed
	// because it is MaxDepth levels below the root.
	DepthLimited bool `json:"depthLimited,omitempty"`
	// Seen is true when the manifest appears elsewhere in the tree (a
	// repeated or cyclic listing); it is not expanded again.
	Seen bool `json:"seen,omitempty"`
	// Error says why the node could not be read, is not a valid record or
	// link, is not a referrer of its parent, or why its referrers could not
	// be listed.
	Error string `json:"error,omitempty"`
	// Warnings are non-fatal observations, such as a referrers tag that
	// holds something other than an index.
	Warnings []string `json:"warnings,omitempty"`

	depth   int
	subject digest.Digest // the subject the manifest names, if any
}

// Tree is the result of Discover: the root node (flattened into the JSON
// form, as oras discover prints it) and what bounded the walk.
type Tree struct {
	*Node
	// Nodes counts the nodes of the tree, the root included.
	Nodes int `json:"nodes"`
	// Incomplete is true when any node is Truncated.
	Incomplete bool `json:"incomplete"`
	// Identities lists, once each, the identities named by valid links
	// whose subject is the root: the runs that produced it.
	Identities []spec.LinkedIdentity `json:"identities"`
}

// Walk calls fn for every node, depth first, parents before children.
func (t *Tree) Walk(fn func(n *Node, depth int)) {
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		fn(n, depth)
		for _, c := range n.Referrers {
			walk(c, depth+1)
		}
	}
	walk(t.Node, 0)
}

// errStopListing ends a referrers listing early.
var errStopListing = errors.New("stop listing")

// Discover lists the referrers graph of the manifest that ref names in src
// (spec/SPEC.md §8.3): from an identity, its output records, signatures and
// any other referrer; from any artifact, its links, each naming the
// identity that produced it (also collected in Tree.Identities).
//
// src lists referrers through the referrers API or the tag schema when it
// is a registry.ReferrerLister (a remote repository), or through its graph
// when it is a content.ReadOnlyGraphStorage (an OCI image layout); any
// other source fails with ErrReferrers.
//
// Nothing a listing says is trusted: every referrer's manifest is read
// (through opts.MaxMetadataSize) to confirm its subject, artifactType and
// kind, and output record and link documents are checked with
// spec.ParseOutputRecord and spec.ParseLink; a node that fails says so in
// Node.Error and is not expanded. The walk is breadth first and bounded by
// MaxDepth, MaxReferrersPerNode, MaxPages and MaxNodes; whatever is cut is
// marked Truncated and counted. A manifest listed twice, as a hostile
// tag-schema index can do, is shown as Seen and expanded once, so cycles
// end.
//
// A root that cannot be read, or whose referrers cannot be listed (for
// example a referrers tag holding bytes that are not JSON), is an error;
// the same failure on another node is recorded on that node.
func Discover(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts DiscoverOptions) (*Tree, error) {
	o := opts.withDefaults()
	list, err := referrerListing(src)
	if err != nil {
		return nil, err
	}
	res, err := Resolve(ctx, src, ref, Options{MaxMetadataSize: o.MaxMetadataSize, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	d := &discovery{src: src, list: list, opts: o, seen: map[digest.Digest]*Node{}}
	root := d.node(ctx, res.Descriptor, res.ManifestBytes, 0)
	if root.Error != "" && root.Kind != KindOther {
		// A runid artifact that does not follow the rules is shown, not
		// rejected: Discover reports, Verify judges.
		o.Logger.Debug("root is not valid", "error", root.Error)
	}
	d.seen[root.Digest] = root
	tree := &Tree{Node: root, Nodes: 1, Identities: []spec.LinkedIdentity{}}
	level := []*Node{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth >= o.MaxDepth {
			for _, n := range level {
				n.DepthLimited = true
			}
			break
		}
		level, err = d.expand(ctx, level, tree)
		if err != nil {
			return nil, err
		}
	}
	tree.Walk(func(n *Node, _ int) {
		if n.Truncated {
			tree.Incomplete = true
		}
	})
	for _, c := range root.Referrers {
		if c.Kind == KindLink && c.Error == "" && c.Identity != nil && !slices.Contains(tree.Identities, *c.Identity) {
			tree.Identities = append(tree.Identities, *c.Identity)
		}
	}
	return tree, nil
}

type discovery struct {
	src  oras.ReadOnlyTarget
	list listFunc
	opts DiscoverOptions

	mu   sync.Mutex
	seen map[digest.Digest]*Node
}

// listing is what a node's referrers listing gave: descriptors up to the
// cap, how many more were seen, and whether it stopped early.
type listing struct {
	refs    []ocispec.Descriptor
	omitted int
	stopped bool
	err     error
	warning string
}

type listFunc func(ctx context.Context, subject ocispec.Descriptor, limit, maxPages int) listing

// referrerListing picks how src lists referrers.
func referrerListing(src oras.ReadOnlyTarget) (listFunc, error) {
	switch s := src.(type) {
	case registry.ReferrerLister:
		return func(ctx context.Context, subject ocispec.Descriptor, limit, maxPages int) listing {
			var l listing
			pages := 0
			err := s.Referrers(ctx, subject, "", func(refs []ocispec.Descriptor) error {
				pages++
				for _, r := range refs {
					if len(l.refs) < limit {
						l.refs = append(l.refs, r)
					} else {
						l.omitted++
					}
				}
				if l.omitted > 0 || pages >= maxPages {
					l.stopped = true
					return errStopListing
				}
				return nil
			})
			switch {
			case errors.Is(err, errStopListing):
			case errors.Is(err, errdef.ErrTooManyPages):
				l.stopped = true
			case err != nil:
				l.err = err
			case len(l.refs) == 0:
				// oras-go reads a referrers tag that holds no image index
				// as "no referrers"; say so instead.
				if _, _, ferr := referrer.ReadFallback(ctx, src, subject.Digest, 0); ferr != nil &&
					(errors.Is(ferr, referrer.ErrFallbackNotIndex) || errors.Is(ferr, referrer.ErrFallbackMalformed)) {
					l.warning = ferr.Error() + "; ignored"
				}
			}
			return l
		}, nil
	case content.ReadOnlyGraphStorage:
		return func(ctx context.Context, subject ocispec.Descriptor, limit, _ int) listing {
			var l listing
			preds, err := s.Predecessors(ctx, subject)
			if err != nil {
				l.err = err
				return l
			}
			// Predecessors include indexes that list the subject as a
			// child; only manifests whose subject it is are referrers.
			// Candidates are kept here and confirmed when read.
			for _, p := range preds {
				if !isManifestType(p.MediaType) {
					continue
				}
				if len(l.refs) < limit {
					l.refs = append(l.refs, p)
				} else {
					l.omitted++
				}
			}
			return l
		}, nil
	}
	return nil, fmt.Errorf("discover: %w: %T lists neither referrers nor predecessors", ErrReferrers, src)
}

func isManifestType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// expand lists the referrers of every node of a level and reads them; it
// returns the next level.
func (d *discovery) expand(ctx context.Context, level []*Node, tree *Tree) ([]*Node, error) {
	o := d.opts
	listings := make([]listing, len(level))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, n := range level {
		g.Go(func() error {
			listings[i] = d.list(gctx, plain(n.Descriptor), o.MaxReferrersPerNode, o.MaxPages)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	type pending struct {
		parent *Node
		desc   ocispec.Descriptor
		child  *Node
		graph  bool // from a graph: a non-referrer is skipped, not an error
	}
	var work []*pending
	_, graph := d.src.(registry.ReferrerLister)
	graph = !graph
	for i, n := range level {
		l := listings[i]
		if l.err != nil {
			if n.depth == 0 {
				return nil, fmt.Errorf("discover: %w of %s: %w", ErrReferrers, n.Digest, l.err)
			}
			n.Error = fmt.Sprintf("list referrers: %v", l.err)
			continue
		}
		if l.warning != "" {
			n.Warnings = append(n.Warnings, l.warning)
		}
		if l.omitted > 0 || l.stopped {
			n.Truncated = true
			n.Omitted += l.omitted
		}
		for _, r := range l.refs {
			work = append(work, &pending{parent: n, desc: r, graph: graph})
		}
		if n.Kind == KindIdentity {
			if sig := d.tagSignature(ctx, n); sig != nil {
				work = append(work, &pending{parent: n, desc: sig.Descriptor, child: sig})
			}
		}
	}

	// Read every new referrer's manifest.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for _, p := range work {
		if p.child != nil {
			continue
		}
		g.Go(func() error {
			p.child = d.read(gctx, p.parent, p.desc, p.graph)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	var next []*Node
	byParent := map[*Node][]*pending{}
	var parents []*Node
	for _, p := range work {
		if p.child == nil {
			continue // not a referrer (graph candidate)
		}
		if _, ok := byParent[p.parent]; !ok {
			parents = append(parents, p.parent)
		}
		byParent[p.parent] = append(byParent[p.parent], p)
	}
	for _, parent := range parents {
		ps := byParent[parent]
		slices.SortStableFunc(ps, func(a, b *pending) int { return compareNodes(a.child, b.child) })
		shown := map[string]int{}
		for _, p := range ps {
			c := p.child
			// A listing that names a manifest more than once: shown once,
			// and said.
			if key := c.Digest.String() + " " + c.Via; shown[key] > 0 {
				if shown[key] == 1 {
					parent.Warnings = append(parent.Warnings, fmt.Sprintf("the referrers listing names %s more than once; shown once", c.Digest))
				}
				shown[key]++
				continue
			} else {
				shown[key] = 1
			}
			if o.ArtifactType != "" && c.ArtifactType != o.ArtifactType {
				continue
			}
			if tree.Nodes >= o.MaxNodes {
				parent.Truncated = true
				parent.Omitted++
				continue
			}
			if prev, ok := d.seen[c.Digest]; ok {
				c = &Node{Reference: c.Reference, Descriptor: c.Descriptor, Kind: prev.Kind, Via: c.Via, Seen: true, Error: c.Error, Referrers: []*Node{}, depth: parent.depth + 1}
			} else {
				d.seen[c.Digest] = c
				if c.Error == "" {
					next = append(next, c)
				}
			}
			parent.Referrers = append(parent.Referrers, c)
			tree.Nodes++
		}
	}
	return next, nil
}

// compareNodes orders referrers by kind, creation time, digest.
func compareNodes(a, b *Node) int {
	rank := func(k NodeKind) int {
		return slices.Index([]NodeKind{KindOutput, KindLink, KindSignature, KindIdentity, KindOther}, k)
	}
	return cmp.Or(
		cmp.Compare(rank(a.Kind), rank(b.Kind)),
		cmp.Compare(a.Annotations[mediatype.AnnotationCreated], b.Annotations[mediatype.AnnotationCreated]),
		cmp.Compare(a.Digest, b.Digest),
		cmp.Compare(a.Via, b.Via),
	)
}

// read fetches a listed referrer's manifest and makes its node. It returns
// nil for a graph candidate that is not a referrer of parent.
func (d *discovery) read(ctx context.Context, parent *Node, listed ocispec.Descriptor, graph bool) *Node {
	o := d.opts
	n := &Node{Descriptor: listed, Kind: KindOther, Referrers: []*Node{}, depth: parent.depth + 1}
	n.Reference = d.reference(listed.Digest)
	fail := func(format string, a ...any) *Node {
		n.Error = fmt.Sprintf(format, a...)
		return n
	}
	switch {
	case listed.Digest.Validate() != nil:
		return fail("listed with an invalid digest %q", listed.Digest)
	case !isManifestType(listed.MediaType):
		return fail("listed with media type %q, not a manifest", listed.MediaType)
	case listed.Size > o.MaxMetadataSize:
		return fail("manifest %v: listed as %d bytes, the cap is %d", ErrTooLarge, listed.Size, o.MaxMetadataSize)
	case listed.Size <= 0:
		return fail("listed with size %d", listed.Size)
	}
	d.mu.Lock()
	prev, seen := d.seen[listed.Digest]
	d.mu.Unlock()
	if seen {
		// Read once. A manifest names one subject, so a manifest already
		// in the tree is listed again under another parent only by a
		// listing that lies (the identity as its own referrer, a cycle):
		// report it, and do not follow it. Under the same parent, expand
		// shows it once.
		if prev.subject != parent.Digest {
			if graph {
				return nil
			}
			c := &Node{Reference: n.Reference, Descriptor: prev.Descriptor, Kind: prev.Kind, Referrers: []*Node{}, depth: n.depth, subject: prev.subject}
			c.Error = fmt.Sprintf("listed as a referrer of %s, but its subject is %s", parent.Digest, cmp.Or(prev.subject.String(), "none"))
			return c
		}
		return &Node{Reference: n.Reference, Descriptor: prev.Descriptor, Kind: prev.Kind, Referrers: []*Node{}, depth: n.depth, subject: prev.subject}
	}
	data, err := content.FetchAll(ctx, d.src, plain(listed))
	if err != nil {
		return fail("read manifest: %v", err)
	}
	var head struct {
		Subject *ocispec.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fail("manifest is not JSON: %v", err)
	}
	if head.Subject == nil || head.Subject.Digest != parent.Digest {
		if graph {
			return nil
		}
		got := "none"
		if head.Subject != nil {
			got = head.Subject.Digest.String()
		}
		child := d.node(ctx, listed, data, n.depth)
		child.Error = fmt.Sprintf("listed as a referrer of %s, but its subject is %s", parent.Digest, got)
		return child
	}
	return d.node(ctx, listed, data, n.depth)
}

// node classifies a manifest from its bytes; for an output record or a
// link it reads and checks the document too.
func (d *discovery) node(ctx context.Context, listed ocispec.Descriptor, data []byte, depth int) *Node {
	n := &Node{Referrers: []*Node{}, Kind: KindOther, depth: depth}
	n.Digest, n.Size = digest.FromBytes(data), int64(len(data))
	n.Reference = d.reference(n.Digest)
	var m struct {
		MediaType    string             `json:"mediaType"`
		ArtifactType string             `json:"artifactType"`
		Config       ocispec.Descriptor `json:"config"`
		Layers       []ocispec.Descriptor
		Annotations  map[string]string   `json:"annotations"`
		Subject      *ocispec.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		n.MediaType = listed.MediaType
		n.Error = fmt.Sprintf("manifest is not JSON: %v", err)
		return n
	}
	if m.Subject != nil {
		n.subject = m.Subject.Digest
	}
	n.MediaType = cmp.Or(m.MediaType, listed.MediaType)
	n.ArtifactType = cmp.Or(m.ArtifactType, m.Config.MediaType)
	n.Annotations = m.Annotations
	switch at := n.ArtifactType; {
	case at == mediatype.Identity:
		n.Kind = KindIdentity
		if _, err := spec.ParseManifest(data); err != nil {
			n.Error = err.Error()
		}
	case at == mediatype.OutputRecord:
		n.Kind = KindOutput
		doc, err := d.document(ctx, m.Config)
		if err != nil {
			n.Error = err.Error()
			return n
		}
		rec, err := spec.ParseOutputRecord(data, doc)
		if err != nil {
			n.Error = err.Error()
			return n
		}
		n.Files, n.Execution = rec.Files(), rec.Document.Execution
	case at == mediatype.Link:
		n.Kind = KindLink
		doc, err := d.document(ctx, m.Config)
		if err != nil {
			n.Error = err.Error()
			return n
		}
		l, err := spec.ParseLink(data, doc)
		if err != nil {
			n.Error = err.Error()
			return n
		}
		id := l.Document.Identity
		n.Identity = &id
	case isSignatureType(at):
		n.Kind = KindSignature
	}
	return n
}

// document reads an output or link document through the metadata cap.
func (d *discovery) document(ctx context.Context, cfg ocispec.Descriptor) ([]byte, error) {
	if cfg.Size > d.opts.MaxMetadataSize || cfg.Size < 0 {
		return nil, fmt.Errorf("document %w: %d bytes, the cap is %d", ErrTooLarge, cfg.Size, d.opts.MaxMetadataSize)
	}
	b, err := content.FetchAll(ctx, d.src, cfg)
	if err != nil {
		return nil, fmt.Errorf("read document %s: %w", cfg.Digest, err)
	}
	return b, nil
}

// tagSignature returns the node of a cosign signature stored under the tag
// convention for n, or nil.
func (d *discovery) tagSignature(ctx context.Context, n *Node) *Node {
	tag, err := spec.SignatureTag(n.Digest)
	if err != nil {
		return nil
	}
	desc, data, err := oras.FetchBytes(ctx, d.src, tag, oras.FetchBytesOptions{MaxBytes: d.opts.MaxMetadataSize})
	if err != nil {
		return nil
	}
	s := d.node(ctx, desc, data, n.depth+1)
	s.Via = "tag"
	s.Kind = KindSignature
	return s
}

func (d *discovery) reference(dg digest.Digest) string {
	if d.opts.Repository == "" {
		return ""
	}
	return d.opts.Repository + "@" + dg.String()
}

// isSignatureType reports whether an artifactType (or config media type)
// is one of a known signature format: cosign, Sigstore bundles, Notary.
func isSignatureType(at string) bool {
	return at == spec.SignatureArtifactType ||
		strings.HasPrefix(at, "application/vnd.dev.sigstore.bundle") ||
		strings.HasPrefix(at, "application/vnd.cncf.notary.signature") ||
		strings.HasPrefix(at, "application/vnd.dev.cosign.")
}
