package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/runid/runid-oci/pull/policy"
)

// policyFlags is the --policy flag of verify and proxy.
type policyFlags struct {
	paths []string
}

func (p *policyFlags) addTo(fs *pflag.FlagSet, what string) {
	fs.StringArrayVar(&p.paths, "policy", nil, what+" (a .rego file, or a directory of them; repeatable)")
}

// load compiles the policies, or returns nil when none was given. A policy
// that does not compile fails with its file, line and message.
func (p *policyFlags) load(ctx context.Context) (*policy.Policy, error) {
	if len(p.paths) == 0 {
		return nil, nil
	}
	return policy.Load(ctx, p.paths, policy.Options{})
}
