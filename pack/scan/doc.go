// Package scan finds what looks like credentials in the components of a run
// (spec/SPEC.md §11.3). pack.Push refuses a composition whose disclosed
// components look like they hold credentials, because a pushed blob is
// content-addressed, replicated and hard to revoke.
//
// What is scanned: every item of format text, yaml or json (pack.Scan passes
// every component that is not withheld). Text and yaml are streamed in
// blocks; a prefilter finds the lines that hold an anchor (a byte that
// every detector's match holds, checked by anchorHit) with the standard
// library's vectorised searches, and only those lines go through the
// detectors' regular expressions (a line longer than scanChunk bytes is
// scanned in overlapping windows). A yaml item that holds a backslash is
// also parsed and its scalars scanned as the parser reads them, since a
// double-quoted scalar's escapes and line continuations can spell a
// credential that no line holds. json is streamed token by token and every
// string is scanned together with its member name (member names are
// scanned too). Binary components are not scanned: they have no lines, and
// model weights or archives would make the scan slow and noisy. Withheld
// components are not scanned: nothing of them is pushed. pack.Build (with
// BuildOptions.ScanCredentials) runs Reader on each text file as it hashes
// it, on another goroutine, and passes the findings on as Item.Findings.
//
// A finding never carries the matched text, and names a line and column,
// or for json the indices of the members and elements that lead to the
// string: never a member name, which may itself be the credential. So
// reporting or logging it discloses nothing.
package scan
