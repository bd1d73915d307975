package traffic

import (
	"fmt"
	"sort"
	"strings"
)

// Report is the table (one row per host and port), the failures and a
// summary line.
func Report(rows []Row, s Settings, skipped map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "traffic check: mesh %s, sidecar->gateway mutual TLS %v, gateway %s (pods %s)\n\n",
		s.MeshMode, s.GatewayMTLS, s.GatewayFQDN(), labelsText(s.GatewayLabels))
	header := []string{"HOST", "PORT", "PROTOCOL", "HOP 1 (sidecar)", "HOP 2 (egress gateway)", "VERDICT"}
	table := [][]string{header}
	for _, r := range rows {
		host := r.Host
		if r.Undeclared {
			host += " (undeclared)"
		} else if r.Direct {
			host += " (direct)"
		} else if r.NoBypass {
			host += " (origination port)"
		} else if r.Name != r.Host && !strings.HasPrefix(r.Name, "meshops-probe.") {
			host += " as " + r.Name
		}
		verdict := "pass"
		if !r.Passed() {
			verdict = "FAIL"
		}
		if len(r.Notes) > 0 {
			verdict += ": " + strings.Join(r.Notes, "; ")
		}
		table = append(table, []string{host, fmt.Sprint(r.Port), r.Protocol, r.Hop1, r.Hop2, verdict})
	}
	widths := make([]int, len(header)-1)
	for _, row := range table {
		for i := range widths {
			widths[i] = max(widths[i], len(row[i]))
		}
	}
	for _, row := range table {
		for i, cell := range row[:len(row)-1] {
			fmt.Fprintf(&b, "%-*s | ", widths[i], cell)
		}
		b.WriteString(row[len(row)-1] + "\n")
	}
	failed := 0
	for _, r := range rows {
		if r.Passed() {
			continue
		}
		if failed == 0 {
			b.WriteString("\nFailures:\n")
		}
		failed++
		for _, f := range r.Failures {
			b.WriteString("  FAIL " + f + "\n")
		}
	}
	if len(skipped) > 0 {
		var kinds []string
		for kind, n := range skipped {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, kind))
		}
		sort.Strings(kinds)
		fmt.Fprintf(&b, "\nRendered but not Envoy config, so not simulated: %s\n", strings.Join(kinds, ", "))
	}
	fmt.Fprintf(&b, "\n%d of %d rows pass\n", len(rows)-failed, len(rows))
	return b.String()
}

func labelsText(labels map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(labels) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}
