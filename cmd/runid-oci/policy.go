package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture/proxy"
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

// proxyDecider compiles the policies for the proxy and returns its
// Options.Decide, or nil when no policy was given. The policies are
// compiled again on SIGHUP until ctx ends; a reload that does not compile
// is logged and the policies in force stay.
func (p *policyFlags) proxyDecider(ctx context.Context, log *slog.Logger) (func(context.Context, *pack.Composition) proxy.Decision, error) {
	first, err := p.load(ctx)
	if err != nil || first == nil {
		return nil, err
	}
	var current atomic.Pointer[policy.Policy]
	current.Store(first)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := p.load(ctx)
				if err != nil {
					log.Error("policies not reloaded; the previous ones stay in force", "error", err)
					continue
				}
				current.Store(next)
				log.Info("policies reloaded", "files", len(next.Files()))
			}
		}
	}()
	return func(ctx context.Context, comp *pack.Composition) proxy.Decision {
		in, err := policy.CompositionInput(ctx, comp, policy.InputOptions{})
		if err != nil {
			return proxy.Decision{Reasons: []string{"denied: the policy input could not be built (" + err.Error() + ")"}}
		}
		d := current.Load().Evaluate(ctx, in)
		if d.Error != "" {
			log.Error("policy evaluation failed; the request is denied", "error", d.Error)
		}
		return proxy.Decision{Allowed: d.Allowed, Reasons: d.Deny}
	}, nil
}
