package telemetry_test

import (
	"context"
	"testing"

	"github.com/runid/runid-oci/pack/capture/telemetry"
)

// TestSetupOffWithoutEnvironment: without OTEL_* variables nothing is
// exported and no provider is made.
func TestSetupOffWithoutEnvironment(t *testing.T) {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
	tp, err := telemetry.Setup(context.Background(), telemetry.SetupOptions{})
	if tp != nil || err != nil {
		t.Fatalf("Setup = %v, %v; want nil, nil", tp, err)
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	if telemetry.Enabled() {
		t.Error("Enabled with OTEL_TRACES_EXPORTER=none")
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	if !telemetry.Enabled() {
		t.Error("not Enabled with OTEL_EXPORTER_OTLP_ENDPOINT")
	}
}
