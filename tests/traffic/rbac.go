package traffic

// The egress gateway's authorization, read from the RBAC filters Istio
// generated on the filter chain a call matched. The simulation runs no
// filter, so this evaluates Envoy's RBAC policies itself for the few
// attributes Istio's AuthorizationPolicies use here: the peer principal, the
// SNI, the Host header and the destination port. Anything else is reported
// as not evaluable, never guessed.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacpb "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	httprbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	netrbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	matcherpb "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

const peerPrincipalKey = "io.istio.peer_principal"

// Request is what the gateway's RBAC filters can see of one call.
type Request struct {
	Principal string // the peer's spiffe:// identity; "" without mutual TLS
	SNI       string
	Authority string // Host header (HTTP only)
	Port      int    // the gateway pod port the call arrived on
}

// RBACFilters are the enforcing RBAC configs of a filter chain: the network
// filters', then (HTTP) the HTTP connection manager's, in order.
func RBACFilters(fc *listener.FilterChain, http bool) ([]*rbacpb.RBAC, error) {
	var out []*rbacpb.RBAC
	for _, f := range fc.GetFilters() {
		switch f.GetName() {
		case "envoy.filters.network.rbac":
			cfg := &netrbac.RBAC{}
			if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
				return nil, err
			}
			if cfg.GetRules() != nil {
				out = append(out, cfg.GetRules())
			}
		case "envoy.filters.network.http_connection_manager":
			if !http {
				continue
			}
			manager := &hcm.HttpConnectionManager{}
			if err := f.GetTypedConfig().UnmarshalTo(manager); err != nil {
				return nil, err
			}
			for _, hf := range manager.GetHttpFilters() {
				if hf.GetName() != "envoy.filters.http.rbac" {
					continue
				}
				cfg := &httprbac.RBAC{}
				if err := hf.GetTypedConfig().UnmarshalTo(cfg); err != nil {
					return nil, err
				}
				if cfg.GetRules() != nil {
					out = append(out, cfg.GetRules())
				}
			}
		}
	}
	return out, nil
}

// Allowed evaluates the filters in order, as Envoy does: every DENY filter
// must match no policy, every ALLOW filter some policy.
func Allowed(filters []*rbacpb.RBAC, r Request, http bool) (bool, error) {
	for _, f := range filters {
		matched := false
		for _, name := range sortedPolicyNames(f.GetPolicies()) {
			p := f.GetPolicies()[name]
			perm, err := anyPermission(p.GetPermissions(), r, http)
			if err != nil {
				return false, fmt.Errorf("policy %s: %v", name, err)
			}
			prin, err := anyPrincipal(p.GetPrincipals(), r, http)
			if err != nil {
				return false, fmt.Errorf("policy %s: %v", name, err)
			}
			if perm && prin {
				matched = true
				break
			}
		}
		switch f.GetAction() {
		case rbacpb.RBAC_ALLOW:
			if !matched {
				return false, nil
			}
		case rbacpb.RBAC_DENY:
			if matched {
				return false, nil
			}
		}
	}
	return true, nil
}

func sortedPolicyNames(m map[string]*rbacpb.Policy) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func anyPermission(ps []*rbacpb.Permission, r Request, http bool) (bool, error) {
	for _, p := range ps {
		ok, err := permission(p, r, http)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func permission(p *rbacpb.Permission, r Request, http bool) (bool, error) {
	switch rule := p.GetRule().(type) {
	case *rbacpb.Permission_Any:
		return rule.Any, nil
	case *rbacpb.Permission_AndRules:
		for _, sub := range rule.AndRules.GetRules() {
			ok, err := permission(sub, r, http)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Permission_OrRules:
		return anyPermission(rule.OrRules.GetRules(), r, http)
	case *rbacpb.Permission_NotRule:
		ok, err := permission(rule.NotRule, r, http)
		return !ok, err
	case *rbacpb.Permission_DestinationPort:
		return int(rule.DestinationPort) == r.Port, nil
	case *rbacpb.Permission_DestinationPortRange:
		return int32(r.Port) >= rule.DestinationPortRange.GetStart() && int32(r.Port) < rule.DestinationPortRange.GetEnd(), nil
	case *rbacpb.Permission_RequestedServerName:
		return stringMatch(rule.RequestedServerName, r.SNI)
	case *rbacpb.Permission_Header:
		if !http {
			return false, fmt.Errorf("a header rule on a TCP filter")
		}
		return header(rule.Header, r)
	}
	return false, fmt.Errorf("cannot evaluate permission %T", p.GetRule())
}

func anyPrincipal(ps []*rbacpb.Principal, r Request, http bool) (bool, error) {
	for _, p := range ps {
		ok, err := principal(p, r, http)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func principal(p *rbacpb.Principal, r Request, http bool) (bool, error) {
	switch id := p.GetIdentifier().(type) {
	case *rbacpb.Principal_Any:
		return id.Any, nil
	case *rbacpb.Principal_AndIds:
		for _, sub := range id.AndIds.GetIds() {
			ok, err := principal(sub, r, http)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Principal_OrIds:
		return anyPrincipal(id.OrIds.GetIds(), r, http)
	case *rbacpb.Principal_NotId:
		ok, err := principal(id.NotId, r, http)
		return !ok, err
	case *rbacpb.Principal_Authenticated_:
		if r.Principal == "" {
			return false, nil
		}
		if id.Authenticated.GetPrincipalName() == nil {
			return true, nil
		}
		return stringMatch(id.Authenticated.GetPrincipalName(), r.Principal)
	case *rbacpb.Principal_FilterState:
		if id.FilterState.GetKey() != peerPrincipalKey {
			return false, fmt.Errorf("cannot evaluate filter state %q", id.FilterState.GetKey())
		}
		if r.Principal == "" {
			return false, nil
		}
		return stringMatch(id.FilterState.GetStringMatch(), r.Principal)
	}
	return false, fmt.Errorf("cannot evaluate principal %T", p.GetIdentifier())
}

func header(h *routepb.HeaderMatcher, r Request) (bool, error) {
	name := strings.ToLower(h.GetName())
	if name != ":authority" && name != "host" {
		return false, fmt.Errorf("cannot evaluate header %q", h.GetName())
	}
	var ok bool
	var err error
	switch spec := h.GetHeaderMatchSpecifier().(type) {
	case *routepb.HeaderMatcher_StringMatch:
		ok, err = stringMatch(spec.StringMatch, r.Authority)
	case *routepb.HeaderMatcher_PresentMatch:
		ok = (r.Authority != "") == spec.PresentMatch
	default:
		return false, fmt.Errorf("cannot evaluate header match %T", spec)
	}
	if h.GetInvertMatch() {
		ok = !ok
	}
	return ok, err
}

func stringMatch(m *matcherpb.StringMatcher, value string) (bool, error) {
	if m == nil {
		return false, fmt.Errorf("empty string matcher")
	}
	v := value
	fold := func(s string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcherpb.StringMatcher_Exact:
		return fold(v) == fold(p.Exact), nil
	case *matcherpb.StringMatcher_Prefix:
		return strings.HasPrefix(fold(v), fold(p.Prefix)), nil
	case *matcherpb.StringMatcher_Suffix:
		return strings.HasSuffix(fold(v), fold(p.Suffix)), nil
	case *matcherpb.StringMatcher_Contains:
		return strings.Contains(fold(v), fold(p.Contains)), nil
	case *matcherpb.StringMatcher_SafeRegex:
		// Envoy's RE2 regexes match the whole value.
		re, err := regexp.Compile("^(?:" + p.SafeRegex.GetRegex() + ")$")
		if err != nil {
			return false, err
		}
		return re.MatchString(v), nil
	}
	return false, fmt.Errorf("cannot evaluate string matcher %T", m.GetMatchPattern())
}

// Principal is one principal matcher of a policy: its text and its
// condition.
type Principal struct {
	Text string
	rule *rbacpb.Principal
}

// Matches evaluates the matcher against one peer principal.
func (p Principal) Matches(peer string) (bool, error) {
	return principal(p.rule, Request{Principal: peer}, false)
}

// NamedPrincipals lists the principal matchers of the ALLOW policies whose
// permissions match the request (whoever they name may make this call):
// what Istio generated from allowed_sources for this host and port.
func NamedPrincipals(filters []*rbacpb.RBAC, r Request, http bool) ([]Principal, error) {
	var out []Principal
	var walk func(p *rbacpb.Principal)
	walk = func(p *rbacpb.Principal) {
		switch id := p.GetIdentifier().(type) {
		case *rbacpb.Principal_AndIds:
			for _, s := range id.AndIds.GetIds() {
				walk(s)
			}
		case *rbacpb.Principal_OrIds:
			for _, s := range id.OrIds.GetIds() {
				walk(s)
			}
		case *rbacpb.Principal_Authenticated_:
			out = append(out, Principal{matcherText(id.Authenticated.GetPrincipalName()), p})
		case *rbacpb.Principal_FilterState:
			out = append(out, Principal{matcherText(id.FilterState.GetStringMatch()), p})
		case *rbacpb.Principal_Any:
			out = append(out, Principal{"any", p})
		default:
			out = append(out, Principal{fmt.Sprintf("%T", id), p})
		}
	}
	for _, f := range filters {
		if f.GetAction() != rbacpb.RBAC_ALLOW {
			continue
		}
		for _, name := range sortedPolicyNames(f.GetPolicies()) {
			policy := f.GetPolicies()[name]
			ok, err := anyPermission(policy.GetPermissions(), r, http)
			if err != nil {
				return nil, fmt.Errorf("policy %s: %v", name, err)
			}
			if ok {
				for _, pr := range policy.GetPrincipals() {
					walk(pr)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Text < out[j].Text })
	return out, nil
}

func matcherText(m *matcherpb.StringMatcher) string {
	switch p := m.GetMatchPattern().(type) {
	case *matcherpb.StringMatcher_Exact:
		return p.Exact
	case *matcherpb.StringMatcher_Prefix:
		return p.Prefix + "*"
	case *matcherpb.StringMatcher_Suffix:
		return "*" + p.Suffix
	case *matcherpb.StringMatcher_SafeRegex:
		return "~" + p.SafeRegex.GetRegex()
	}
	return fmt.Sprint(m)
}
