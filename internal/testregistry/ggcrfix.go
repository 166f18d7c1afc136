package testregistry

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ggcrConformance wraps the go-containerregistry registry (v0.22.1) to fix
// the places where its referrers support deviates from the OCI
// distribution-spec v1.1, so tests see what a conformant registry does:
//
//   - manifest PUT with a subject gets the OCI-Subject response header;
//   - referrers descriptors carry the manifest's artifactType (ggcr reports
//     config.mediaType even when artifactType is set, so every artifact with
//     an empty config would show up as application/vnd.oci.empty.v1+json);
//   - the artifactType query filter is applied (OCI-Filters-Applied is set);
//   - referrers are listed in a stable order (by digest).
type ggcrConformance struct {
	next http.Handler
}

// repoPath splits "/v2/<name>/<kind>/<ref>" into name, kind and ref.
func repoPath(path string) (name, kind, ref string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return "", "", "", false
	}
	elems := strings.Split(rest, "/")
	if len(elems) < 3 {
		return "", "", "", false
	}
	n := len(elems)
	return strings.Join(elems[:n-2], "/"), elems[n-2], elems[n-1], true
}

func (h ggcrConformance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, kind, _, ok := repoPath(r.URL.Path)
	switch {
	case ok && kind == "referrers" && r.Method == http.MethodGet:
		h.referrers(w, r, name)
	case ok && kind == "manifests" && r.Method == http.MethodPut:
		h.putManifest(w, r)
	default:
		h.next.ServeHTTP(w, r)
	}
}

func (h ggcrConformance) putManifest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		Subject *ocispec.Descriptor `json:"subject"`
	}
	if json.Unmarshal(body, &m) != nil || m.Subject == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	h.next.ServeHTTP(&subjectWriter{ResponseWriter: w, subject: m.Subject.Digest.String()}, r)
}

// subjectWriter adds the OCI-Subject header to a successful response.
type subjectWriter struct {
	http.ResponseWriter
	subject string
	wrote   bool
}

func (s *subjectWriter) WriteHeader(code int) {
	if !s.wrote && code == http.StatusCreated {
		s.Header().Set("OCI-Subject", s.subject)
	}
	s.wrote = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *subjectWriter) Write(p []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

func (h ggcrConformance) referrers(w http.ResponseWriter, r *http.Request, name string) {
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	var index ocispec.Index
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &index) != nil {
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}

	filter := r.URL.Query().Get("artifactType")
	kept := index.Manifests[:0]
	for _, desc := range index.Manifests {
		if at, ok := h.artifactType(r, name, desc); ok {
			desc.ArtifactType = at
		}
		if filter == "" || desc.ArtifactType == filter {
			kept = append(kept, desc)
		}
	}
	slices.SortFunc(kept, func(a, b ocispec.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	index.Manifests = kept

	out, err := json.Marshal(index)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// artifactType fetches the referrer manifest from the wrapped registry and
// returns its artifact type as defined by the distribution-spec: the
// artifactType field, else (image manifests only) config.mediaType.
func (h ggcrConformance) artifactType(r *http.Request, name string, desc ocispec.Descriptor) (string, bool) {
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, "/v2/"+name+"/manifests/"+desc.Digest.String(), nil)
	req.Header.Set("Accept", desc.MediaType)
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return "", false
	}
	var m struct {
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
		Config       *struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		return "", false
	}
	if m.ArtifactType == "" && m.Config != nil {
		return m.Config.MediaType, true
	}
	return m.ArtifactType, true
}
