// Package doclinks holds the test that keeps the documentation's links
// working: every relative link and image in the README, docs/, spec/ and
// every README.md below the repository root must name a file or directory
// that exists, and a #fragment must name a heading of the Markdown file it
// points to, as GitHub renders its anchor. It has no code.
package doclinks
