package diff

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/diff/internal/textdiff"
	"github.com/runid/runid-oci/spec"
)

// comparer holds the state of one Compare: the contents it needs, the
// verified contents by digest (whichever side they came from), and the
// blobs already verified in each store.
type comparer struct {
	opts CompareOptions

	mu       sync.Mutex
	needed   map[digest.Digest]bool
	cache    map[digest.Digest][]byte
	captures map[digest.Digest]*bytes.Buffer // being verified
	verified map[any]map[digest.Digest]bool  // store → digests verified in it
}

func newComparer(o CompareOptions) *comparer {
	return &comparer{
		opts:     o,
		needed:   map[digest.Digest]bool{},
		cache:    map[digest.Digest][]byte{},
		captures: map[digest.Digest]*bytes.Buffer{},
		verified: map[any]map[digest.Digest]bool{},
	}
}

// want records the digests whose content the plan compares.
func (c *comparer) want(plan []rolePlan) {
	for _, rp := range plan {
		for _, p := range rp.pairs {
			if p.content {
				c.needed[p.a.Digest] = true
				c.needed[p.b.Digest] = true
			}
		}
	}
}

// storeKey returns s as a map key when its dynamic type is comparable
// (stores are pointers in practice), or nil.
func storeKey(s any) any {
	if s == nil || !reflect.TypeOf(s).Comparable() {
		return nil
	}
	return s
}

// verify checks every blob of an identity side exactly as Verify does,
// keeping the blobs the comparison needs. Blobs already verified in the
// same store (for the other side) are not fetched again; they are recorded
// as passed checks. A declaration side was checked when it was built.
func (c *comparer) verify(ctx context.Context, s *side) error {
	if s.store == nil {
		return nil
	}
	key := storeKey(s.store)
	done := c.verified[key]
	id := s.id
	if len(done) > 0 {
		sub := *id.Identity
		sub.Manifest.Layers, sub.Document.Components = nil, nil
		for i, l := range id.Manifest.Layers {
			// Commitments are always checked again: they are tiny, and
			// their check depends on the component's role.
			if !done[l.Digest] || id.Document.Components[i].Withheld() {
				sub.Manifest.Layers = append(sub.Manifest.Layers, l)
				sub.Document.Components = append(sub.Document.Components, id.Document.Components[i])
			}
		}
		id = &pull.Identity{Reference: id.Reference, Descriptor: id.Descriptor, Identity: &sub}
	}
	if err := pull.VerifyBlobs(ctx, s.store, id, c.opts.Options, s.rep, c.keep); err != nil {
		c.dropCaptures()
		return &SideError{Side: s.label, Name: s.name, Err: err}
	}
	for _, comp := range s.id.Document.Components {
		if done[comp.Digest] && !comp.Withheld() {
			s.rep.Pass("blob-digest", comp.Name, comp.Digest.String()+" (verified for the other side, same store)")
			s.rep.Pass("blob-size", comp.Name, fmt.Sprintf("%d bytes", comp.Size))
		}
	}
	if err := s.rep.Err(); err != nil {
		c.dropCaptures()
		return &SideError{Side: s.label, Name: s.name, Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, m := range c.captures {
		c.cache[d] = m.Bytes()
		delete(c.captures, d)
	}
	if key != nil {
		if c.verified[key] == nil {
			c.verified[key] = map[digest.Digest]bool{}
		}
		for _, l := range s.id.Manifest.Layers {
			c.verified[key][l.Digest] = true
		}
	}
	return nil
}

// keep keeps a blob that the comparison needs and that no side has given
// yet; it discards every other blob. It is called concurrently.
func (c *comparer) keep(desc ocispec.Descriptor) *bytes.Buffer {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := desc.Digest
	if !c.needed[d] || c.cache[d] != nil || c.captures[d] != nil {
		return nil
	}
	m := &bytes.Buffer{}
	c.captures[d] = m
	return m
}

func (c *comparer) dropCaptures() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.captures)
}

// pairContent reads the bytes of both components of a pair, A's first.
func (c *comparer) pairContent(ctx context.Context, a, b *side, p pairPlan) (ba, bb []byte, err error) {
	if ba, err = c.content(ctx, a, *p.a); err != nil {
		return nil, nil, err
	}
	if bb, err = c.content(ctx, b, *p.b); err != nil {
		return nil, nil, err
	}
	return ba, bb, nil
}

// content returns the verified bytes of a component of s (at most
// opts.MaxDiffSize, or pull.MaxCommitmentSize for a commitment, as planned),
// reading them at most once per digest for the whole comparison.
func (c *comparer) content(ctx context.Context, s *side, e spec.ComponentEntry) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.cache[e.Digest]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := c.read(ctx, s, e)
	if err != nil {
		return nil, &SideError{Side: s.label, Name: s.name, Err: err}
	}
	c.mu.Lock()
	c.cache[e.Digest] = b
	c.mu.Unlock()
	return b, nil
}

// read fetches a component's bytes from its side and checks them against
// the entry's digest and size.
func (c *comparer) read(ctx context.Context, s *side, e spec.ComponentEntry) ([]byte, error) {
	limit := c.opts.MaxDiffSize
	if e.Withheld() {
		limit = pull.MaxCommitmentSize
	}
	if e.Size > limit {
		return nil, fmt.Errorf("component %q: %w: %d bytes, the cap is %d", e.Name, pull.ErrTooLarge, e.Size, limit)
	}
	if s.store != nil {
		desc := ocispec.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size}
		return pull.FetchBlob(ctx, s.store, desc, s.rep.Reference, e.Name, limit, c.opts.Options)
	}
	pc, ok := s.decl[e.Digest]
	if !ok {
		return nil, fmt.Errorf("component %q: no content for %s", e.Name, e.Digest)
	}
	rc, err := pc.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, e.Size+1))
	if err != nil {
		return nil, fmt.Errorf("component %q: %w", e.Name, err)
	}
	if int64(len(b)) != e.Size || digest.FromBytes(b) != e.Digest {
		return nil, fmt.Errorf("component %q: %w", e.Name, pack.ErrComponentChanged)
	}
	return b, nil
}

// unifiedDiff is the unified diff of two texts with git's a/ and b/
// headers, and its added and removed line counts.
func unifiedDiff(nameA, nameB string, a, b []byte, context int) (string, int, int) {
	la, lb := textdiff.SplitLines(string(a)), textdiff.SplitLines(string(b))
	es := textdiff.Diff(la, lb)
	added, removed := textdiff.Stat(es)
	return textdiff.UnifiedEdits("a/"+nameA, "b/"+nameB, la, lb, es, context), added, removed
}
