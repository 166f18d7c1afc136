package clitools

import "errors"

// ErrUnknownTool is returned by [Build] and [Path] for a tool that is not
// one of the pinned tools ([ToolOras], [ToolCosign], [ToolRegistry]).
var ErrUnknownTool = errors.New("clitools: unknown tool")

// ErrBuild is returned (wrapped, with the go command's output) by [Build]
// when building a tool fails.
var ErrBuild = errors.New("clitools: build failed")
