//go:build !unix

package clitools

import "context"

// lock is a no-op where flock is unavailable: builds still land in the cache
// by atomic rename, so concurrent builders at worst duplicate work.
func lock(ctx context.Context, path string) (func(), error) {
	return func() {}, ctx.Err()
}
