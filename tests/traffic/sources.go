package traffic

// Who may use a host through the gateway: the RBAC filters Istio generated
// on the filter chain hop 2 matched, evaluated for the sources the host
// allows and for some it must refuse.

import (
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacpb "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"

	"istio.io/istio/pilot/pkg/simulation"
)

// checkSources evaluates the gateway's RBAC filters on the matched chain for
// the sources the host allows and for some it must refuse.
func (w *World) checkSources(r *Row, chain *listener.FilterChain, call simulation.Call) {
	filters, err := RBACFilters(chain, r.HTTP())
	if err != nil {
		r.fail(hop2, "reading the RBAC filters: %v", err)
		return
	}
	req := Request{SNI: call.Sni, Authority: call.HostHeader, Port: call.Port}
	for _, list := range []struct {
		principals []string
		want       bool
	}{{r.Allowed, true}, {r.Denied, false}} {
		for _, p := range list.principals {
			req.Principal = p
			got, err := Allowed(filters, req, r.HTTP())
			if err != nil {
				r.fail(hop2, "evaluating the gateway's RBAC filters: %v", err)
				return
			}
			if got != list.want {
				r.fail(hop2, "the gateway's authorization %s %s, expected it to %s (RBAC principals on this filter "+
					"chain for this host: %s)", map[bool]string{true: "allows", false: "refuses"}[got], sourceText(p),
					map[bool]string{true: "allow it", false: "refuse it"}[list.want], principalsText(filters, req, r.HTTP()))
			}
		}
	}
	if r.AllowedSources() {
		w.checkNamedSources(r, filters, req)
	}
}

// checkNamedSources: every principal the policies matching this host and
// port name is one allowed_sources lists (a namespace's matcher matches that
// namespace's accounts), so none beyond the list may use the host.
func (w *World) checkNamedSources(r *Row, filters []*rbacpb.RBAC, req Request) {
	named, err := NamedPrincipals(filters, req, r.HTTP())
	if err != nil {
		r.fail(hop2, "reading the gateway's RBAC policies: %v", err)
		return
	}
	var texts []string
	for _, p := range named {
		texts = append(texts, p.Text)
		listed := false
		for _, allowed := range r.Allowed {
			if ok, _ := p.Matches(allowed); ok {
				listed = true
			}
		}
		if !listed {
			r.fail(hop2, "the gateway's authorization for this host names %s, which allowed_sources (%s) does not "+
				"list", p.Text, r.Declared)
		}
	}
	r.Notes = append(r.Notes, "sources "+strings.Join(texts, " "))
}

// AllowedSources reports a row whose host restricts its sources.
func (e Expect) AllowedSources() bool { return len(e.Denied) > 0 && len(e.Allowed) > 0 }

func principalsText(filters []*rbacpb.RBAC, req Request, http bool) string {
	named, err := NamedPrincipals(filters, req, http)
	if err != nil {
		return err.Error()
	}
	if len(named) == 0 {
		return "none"
	}
	var texts []string
	for _, p := range named {
		texts = append(texts, p.Text)
	}
	return strings.Join(texts, " ")
}

func sourceText(principal string) string {
	if principal == "" {
		return "a source without mutual TLS (no principal)"
	}
	return principal
}
