// Package scan finds what looks like credentials in the components of a run
// (spec/SPEC.md §11.3). pack.Push refuses a composition whose disclosed
// components look like they hold credentials, because a pushed blob is
// content-addressed, replicated and hard to revoke.
//
// What is scanned: every item of format text, yaml or json (pack.Scan passes
// every component that is not withheld). Text and yaml are streamed line by
// line (a line longer than scanChunk bytes is scanned in overlapping
// windows); json is streamed token by token and every string is scanned
// together with its member name, so that a finding names the JSON Pointer
// (RFC 6901) of the value (member names are scanned too). Binary components
// are not scanned: they have no lines, and model weights or archives would
// make the scan slow and noisy. Withheld components are not scanned: nothing
// of them is pushed.
//
// A finding never carries the matched text, so that reporting or logging it
// discloses nothing.
package scan
