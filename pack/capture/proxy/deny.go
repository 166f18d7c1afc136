package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/spec"
)

// deny answers a request that Options.Decide denied with 403, never
// forwarding it. When its identity was declared (derr is nil) the answer
// carries the identity and instance headers and an output record of the
// denial is attached in the background; deny then reports true, and the
// record's goroutine ends the request's pending count. With
// Options.Tracer the denied request has a span too, ended with an error
// status once its record is attached.
func (h *Handler) deny(w http.ResponseWriter, r *http.Request, format string, body []byte, subject ocispec.Descriptor, derr *declareError, reasons []string, start time.Time) bool {
	if len(reasons) == 0 {
		reasons = []string{"denied by policy"}
	}
	msg := "denied by policy: " + strings.Join(reasons, "; ")
	if derr != nil {
		h.log.Error("run denied by policy and not declared", "path", r.URL.Path, "format", format, "error", derr.err)
		writeDenied(w, fmt.Errorf("runid-oci proxy: the run is %s (and could not be declared: %v); it was not forwarded", msg, derr.err))
		h.logRequest(r, format, "", "", http.StatusForbidden, "denied", start)
		return false
	}
	now := time.Now()
	ex := &exchange{h: h, format: format, subject: subject, instance: newInstanceID(), request: r,
		started: now, ended: now, status: spec.StatusFailed, errText: msg, outcome: "denied", denied: reasons}
	if h.opts.Tracer != nil {
		// The span of a denied request: it never goes upstream, so its
		// trace context is not sent anywhere; it ends with the record.
		greq, _ := capture.DescribeRequest(format, body, h.opts.Provider)
		ex.span = h.opts.Tracer.Start(r.Context(), TraceStart{Header: r.Header, Format: format, Request: greq, Identity: subject.Digest, Instance: ex.instance, Start: start})
	}
	w.Header().Set(h.opts.IdentityHeader, subject.Digest.String())
	w.Header().Set(h.opts.InstanceHeader, ex.instance)
	writeDenied(w, fmt.Errorf("runid-oci proxy: the run %s is %s; it was not forwarded", subject.Digest, msg))
	h.logRequest(r, format, subject.Digest.String(), ex.instance, http.StatusForbidden, "denied", start)
	go ex.record()
	return true
}

// writeDenied answers 403 with the proxy's JSON error shape, error type
// runid_denied.
func writeDenied(w http.ResponseWriter, err error) {
	writeError(w, http.StatusForbidden, "policy_denied", err)
}
