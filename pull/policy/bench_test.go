package policy_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pull/policy"
)

// BenchmarkProxyPolicy measures what a policy adds to a proxied request:
// building the policy input of the request's composition (as the proxy
// imports it) and evaluating the seven example policies on it. It reports
// the median besides Go's mean; the target is under 1 ms at the median.
func BenchmarkProxyPolicy(b *testing.B) {
	ctx := b.Context()
	body := testutil.ReadFile(b, filepath.Join("..", "..", "testdata", "requests", "openai-chat.json"))
	imp, err := capture.Import(ctx, "openai-chat", body, capture.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load(ctx, []string{policies}, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		in, err := policy.CompositionInput(ctx, imp.Composition, policy.InputOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := p.Evaluate(ctx, in)
		if d.Error != "" || len(d.Deny) != 2 { // runtime image and signer: the request declares neither
			b.Fatalf("decision %+v", d)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "median-ns/op")
}

// BenchmarkEvaluate is the evaluation alone, on the rag-agent example.
func BenchmarkEvaluate(b *testing.B) {
	ctx := b.Context()
	comp := testutil.Load(b, filepath.Join(examples, "rag-agent", "runid.yaml"))
	in, err := policy.CompositionInput(ctx, comp, policy.InputOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load(ctx, []string{policies}, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := p.Evaluate(ctx, in); d.Error != "" {
			b.Fatal(d.Error)
		}
	}
}
