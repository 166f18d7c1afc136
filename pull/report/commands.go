package report

import (
	"path"
	"strings"

	"github.com/runid/runid-oci/pull"
)

// commandGroup is one claim of the report and the commands that re-check it.
type commandGroup struct {
	Claim    string
	Note     string
	Commands []string
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// recheckCommands lists the commands with which a reader re-checks the
// report's claims, with runid-oci and with generic tools.
func recheckCommands(r *Report) []commandGroup {
	loc := r.Location
	if r.IdentityDigest == "" || loc.Display == "" {
		return nil
	}
	store := loc.Display
	var groups []commandGroup
	var extract string
	if loc.Tar {
		extract = "mkdir run-layout && tar -xf " + shellQuote(loc.Display) + " -C run-layout"
		store = "run-layout"
	}
	id := r.IdentityDigest.String()
	at := func(d string) string { return shellQuote(store + "@" + d) }
	runidFlags, orasFlags := "", ""
	switch {
	case loc.Layout:
		runidFlags, orasFlags = " --oci-layout", " --oci-layout"
	case loc.PlainHTTP:
		runidFlags, orasFlags = " --plain-http", " --plain-http"
	}
	runidRef := func(d string) string {
		if loc.Tar {
			return shellQuote(loc.Display + "@" + d)
		}
		return at(d)
	}

	// The whole verification, with runid-oci.
	g := commandGroup{Claim: "The identity verifies (every rule, every blob" + map[bool]string{true: ", its signatures", false: ""}[len(r.Keys) > 0] + ")"}
	target := id
	for _, l := range r.Chain {
		if l.Kind == pull.ChainOutputRecord {
			target = l.Digest.String()
			g.Claim = "The output record, its files and the identity it names verify"
		}
	}
	if len(r.Keys) == 0 {
		g.Commands = append(g.Commands, "runid-oci verify"+runidFlags+" "+runidRef(target))
	}
	for _, k := range r.Keys {
		g.Commands = append(g.Commands, "runid-oci verify"+runidFlags+" "+runidRef(target)+" --key "+shellQuote(k.Name))
	}
	groups = append(groups, g)

	// The identity digest, with oras and sha256sum.
	g = commandGroup{Claim: "The identity digest is the SHA-256 of the manifest bytes",
		Note: "sha256sum prints " + strings.TrimPrefix(id, "sha256:")}
	if extract != "" {
		g.Commands = append(g.Commands, extract)
	}
	g.Commands = append(g.Commands, "oras manifest fetch"+orasFlags+" "+at(id)+" | sha256sum")
	if loc.Layout {
		g.Commands = append(g.Commands, "sha256sum "+shellQuote(path.Join(store, "blobs", "sha256", strings.TrimPrefix(id, "sha256:"))))
	}
	groups = append(groups, g)

	// Every blob.
	g = commandGroup{Claim: "Every component and the identity document hash to the digests listed"}
	if loc.Layout {
		g.Note = "in an OCI image layout every blob is a file named by its digest: sha256sum checks them all and prints only mismatches"
		g.Commands = append(g.Commands, "cd "+shellQuote(path.Join(store, "blobs", "sha256"))+` && for f in *; do echo "$f  $f"; done | sha256sum --check --quiet`)
	} else {
		g.Note = "prints nothing when every blob matches its digest"
		g.Commands = append(g.Commands,
			"for d in $(oras manifest fetch"+orasFlags+" "+at(id)+` | jq -r '.config.digest, .layers[].digest'); do`+"\n"+
				`  [ "$(oras blob fetch`+orasFlags+" --output - "+shellQuote(store)+`@"$d" | sha256sum | cut -d' ' -f1)" = "${d#sha256:}" ] || echo "MISMATCH $d"`+"\n"+
				"done")
	}
	groups = append(groups, g)

	// Signatures.
	if len(r.Keys) > 0 {
		g = commandGroup{Claim: "The identity is signed by the key(s) named"}
		if loc.Layout {
			g.Note = "cosign reads registries, not layouts: copy the identity with its signatures to a registry first"
			g.Commands = append(g.Commands, "runid-oci copy --from-oci-layout "+runidRef(id)+" REGISTRY/REPOSITORY")
			for _, k := range r.Keys {
				g.Commands = append(g.Commands, "cosign verify --key "+shellQuote(k.Name)+" --insecure-ignore-tlog REGISTRY/REPOSITORY@"+id)
			}
		} else {
			flag := ""
			if loc.PlainHTTP {
				flag = " --allow-http-registry"
			}
			for _, k := range r.Keys {
				g.Commands = append(g.Commands, "cosign verify --key "+shellQuote(k.Name)+" --insecure-ignore-tlog"+flag+" "+at(id))
			}
		}
		groups = append(groups, g)
	}

	// Withheld components.
	withheld := 0
	for _, role := range r.Roles {
		for _, c := range role.Components {
			if c.Withheld() {
				withheld++
			}
		}
	}
	if withheld > 0 {
		groups = append(groups, commandGroup{
			Claim:    "A file is exactly a withheld component",
			Note:     "ask the owner of the run for the component's content (FILE) and its reveal file (REVEAL.json, written when the identity was pushed)",
			Commands: []string{"runid-oci verify" + runidFlags + " " + runidRef(id) + " --reveal REVEAL.json --component FILE"},
		})
	}

	// Referrers.
	g = commandGroup{Claim: "The referrer graph: output records, signatures, links",
		Commands: []string{"runid-oci discover" + runidFlags + " " + runidRef(id)}}
	if extract == "" {
		g.Commands = append(g.Commands, "oras discover"+orasFlags+" "+at(id))
	}
	groups = append(groups, g)

	if c := r.Comparison; c != nil {
		groups = append(groups, commandGroup{Claim: "The differences between the two runs",
			Note:     "as diff(1): exit code 0 when the runs are the same, 1 when they differ (the differences on stdout)",
			Commands: []string{"runid-oci diff" + runidFlags + " " + runidRef(id) + " " + shellQuote(c.B.Reference)}})
	}
	return groups
}
