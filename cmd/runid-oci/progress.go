package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// progressTerminal returns stderr when progress is shown there: stderr is
// a terminal and --no-progress is not given. Progress never goes to pipes
// or files.
func (a *app) progressTerminal() *os.File {
	if a.noProgress {
		return nil
	}
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// transfers shows the blobs a command moves or hashes as byte progress
// bars on the terminal, one per blob in flight with its size, rate and ETA;
// as each ends its bar turns into a line above those still running. A nil
// *transfers shows nothing: its hooks are nil, so the library does not
// even count bytes.
type transfers struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*blobBar
	once sync.Once
}

// blobBar is a bar and the line it turns into when it completes.
type blobBar struct {
	*mpb.Bar
	final atomic.Pointer[string]
}

// finish turns the bar into line.
func (b *blobBar) finish(line string) {
	b.final.Store(&line)
	b.SetTotal(-1, true)
}

// transfers starts the progress display, or returns nil when there is
// none. The command calls done before it writes its result.
func (a *app) transfers() *transfers {
	f := a.progressTerminal()
	if f == nil {
		return nil
	}
	return &transfers{
		p:    mpb.New(mpb.WithOutput(f), mpb.WithWidth(40), mpb.WithAutoRefresh(), mpb.PopCompletedMode()),
		bars: map[string]*blobBar{},
	}
}

// done removes the bars still running (a transfer that failed) and waits
// until the display has been drawn for the last time. It may be called
// more than once.
func (t *transfers) done() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		t.mu.Lock()
		for k, b := range t.bars {
			b.Abort(true)
			delete(t.bars, k)
		}
		t.mu.Unlock()
		t.p.Wait()
	})
}

// pack returns the hook for pack's and referrer's events, or nil.
func (t *transfers) pack() func(pack.Event) {
	if t == nil {
		return nil
	}
	return func(e pack.Event) {
		name := blobLabel(e.Name, e.Descriptor)
		switch e.Kind {
		case pack.EventBlobUploading:
			t.bar("up", e.Descriptor.Digest.String(), name, e.Descriptor.Size)
		case pack.EventBlobBytes:
			t.bar("up", e.Descriptor.Digest.String(), name, e.Descriptor.Size).SetCurrent(e.Bytes)
		case pack.EventFileHashing:
			b := t.bar("hash", e.Name, "hashing "+e.Name, e.Descriptor.Size)
			b.SetCurrent(e.Bytes)
			if e.Bytes >= e.Descriptor.Size {
				t.end("hash", e.Name, fmt.Sprintf("hashed    %s (%s)", e.Name, size(e.Bytes)))
			}
		case pack.EventBlobUploaded:
			t.end("up", e.Descriptor.Digest.String(), fmt.Sprintf("uploaded  %s (%s)", name, size(e.Descriptor.Size)))
		case pack.EventBlobSkipped:
			t.end("up", e.Descriptor.Digest.String(), fmt.Sprintf("exists    %s", name))
		case pack.EventManifestPushed:
			t.line(fmt.Sprintf("pushed    manifest %s", e.Descriptor.Digest))
		case pack.EventTagged:
			t.line(fmt.Sprintf("tagged    %s", e.Name))
		}
	}
}

// pull returns the hook for pull's events, or nil.
func (t *transfers) pull() func(pull.Event) {
	if t == nil {
		return nil
	}
	return func(e pull.Event) {
		switch e.Kind {
		case pull.EventBlobBytes:
			t.bar("down", e.Descriptor.Digest.String(), e.Name, e.Descriptor.Size).SetCurrent(e.Bytes)
		case pull.EventBlobVerified:
			t.end("down", e.Descriptor.Digest.String(), fmt.Sprintf("verified  %s (%s)", e.Name, size(e.Descriptor.Size)))
		case pull.EventFileWritten:
			t.line(fmt.Sprintf("wrote     %s", e.Name))
		}
	}
}

// bar returns the running bar that kind and id key, adding it if it is
// not shown yet. It completes only through end: a blob's bytes may all be
// sent before the registry has accepted it.
func (t *transfers) bar(kind, id, name string, total int64) *blobBar {
	key := kind + "\x00" + id
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.bars[key]; ok {
		return b
	}
	b := &blobBar{}
	label := fmt.Sprintf("%-32s ", truncate(name, 32))
	running := func(d decor.Decorator) decor.Decorator { return decor.OnComplete(d, "") }
	b.Bar = t.p.AddBar(0,
		mpb.BarFillerClearOnComplete(),
		mpb.PrependDecorators(decor.Any(func(st decor.Statistics) string {
			if f := b.final.Load(); st.Completed && f != nil {
				return *f
			}
			return label
		})),
		mpb.AppendDecorators(
			running(decor.CountersKibiByte("% .1f / % .1f", decor.WC{W: 22})),
			running(decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WC{W: 14})),
			running(decor.Name(" ETA ")),
			running(decor.AverageETA(decor.ET_STYLE_GO, decor.WC{W: 6})),
		),
	)
	b.SetTotal(total, false)
	t.bars[key] = b
	return b
}

// end turns the bar that kind and id key into line; without a bar, line
// is printed above the bars.
func (t *transfers) end(kind, id, line string) {
	key := kind + "\x00" + id
	t.mu.Lock()
	b, ok := t.bars[key]
	delete(t.bars, key)
	t.mu.Unlock()
	if !ok {
		t.line(line)
		return
	}
	b.finish(line)
}

// line prints a line above the bars, as a bar that is complete at once.
func (t *transfers) line(s string) {
	b := &blobBar{}
	b.Bar = t.p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
		if f := b.final.Load(); f != nil {
			return *f
		}
		return ""
	})))
	b.finish(s)
}

// blobLabel names a blob in progress: a component's name, else what the
// media type says it is.
func blobLabel(name string, desc ocispec.Descriptor) string {
	switch {
	case name != "":
		return name
	case desc.MediaType == mediatype.IdentityDocument:
		return "identity document"
	case desc.MediaType == ocispec.MediaTypeImageManifest, desc.MediaType == ocispec.MediaTypeImageIndex:
		return "manifest " + shortDigest(desc)
	}
	return "blob " + shortDigest(desc)
}

func shortDigest(desc ocispec.Descriptor) string {
	s := desc.Digest.String()
	if len(s) > 19 {
		return s[:19]
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// size formats a byte count as oras does: 1.5 MiB.
func size(n int64) string {
	return fmt.Sprintf("% .1f", decor.SizeB1024(n))
}
