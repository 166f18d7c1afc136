// Package referrer attaches artifacts to a run identity as OCI 1.1
// referrers (spec/SPEC.md §8): output records with the files a run
// produced (Attach), and links that name the identity an existing artifact
// came from (Link). It makes sure the subject's referrers list what was
// pushed, on registries with the referrers API, on those that only have
// the tag-schema fallback (ReadFallback reads that index), and in OCI
// image layouts.
package referrer
