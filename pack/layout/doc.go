// Package layout is an OCI image layout store that keeps what it reports:
// durable, safe for many writers in many processes, and flat in cost as
// the layout grows.
//
// The directory stays an OCI image layout (oci-layout, index.json,
// blobs/<alg>/<hex>) that oras, skopeo and crane read. Next to it, in
// .runid/, the store keeps what makes its operations cost the same with
// 100,000 identities as with 10, all rebuildable from the layout:
//
//   - tags/<tag>: the descriptor each tag names (index.json lists the same);
//   - referrers/<alg>/<hh>/<hex>/<alg>-<hex>: one file per manifest whose
//     subject is <alg>:<hex>, holding the referrer's descriptor;
//   - deleted/<alg>-<hex>: manifests deleted after a segment listed them;
//   - journal/log-<n>: reported pushes not yet listed in index.json,
//     with their bytes, appended by a writer that holds the file locked
//     (see SetDeferIndex);
//   - state.json: the size and modification time of the index.json this
//     store last wrote, to notice another program's writes;
//   - lock: the advisory lock writers take to change index.json;
//   - tmp/: temporary files, each locked by its writer until renamed.
//
// index.json lists every tag (one entry per tag, as OCI layouts do) and a
// few segments: image indexes, stored as blobs, that list the untagged
// manifests. Each commit writes one segment for its new manifests; when
// sixteen segments of one level pile up, a segment of the next level that
// lists them replaces them. index.json therefore holds at most fifteen
// segments per level, about five levels for a million manifests, and
// every manifest stays reachable from index.json for other tools.
//
// A write goes to a temporary file, is flushed and renamed into place,
// and its directory is flushed; index.json is replaced the same way,
// under the lock, after reading and merging the one on disk. Commits of
// concurrent writers in one process share one lock and one index.json
// replacement (group commit). With Store.SetDeferIndex (the recording
// proxy) a push of an untagged manifest reports success once a record
// holding it and its unflushed blobs is appended to the store's journal
// log in .runid/journal/ and flushed (one flush shared by the pushes
// appended meanwhile),
// and index.json lists it after a commit in the background; after a
// crash, the next writer lists it from the journal. See docs/store.md for
// the design and its trade-offs.
package layout
