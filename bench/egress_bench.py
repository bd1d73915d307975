"""Benchmark: the collection against the kubernetes.core forms a user would
otherwise write, on the project's test API server with Istio's CRDs.

For each N: N external hosts (a mix of HTTP and TLS) rendered by the
collection's own filter; then, each against a fresh server,
  - the collection (playbooks/site.yml): first run, no-op rerun, rerun with 1% of hosts changed;
  - one kubernetes.core.k8s task per object (a loop): first run and no-op rerun,
    measured on at most LOOP_CAP objects and extrapolated beyond;
  - one kubernetes.core.k8s task with every object (apply: true): first run and no-op rerun.
Reports wall seconds, peak RSS (largest process of the run) and the server's
request counts by verb, and the ratios. Usage:

    python bench/egress_bench.py --sizes 10 100 1000 [--json out.json]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "build" / "pycoll"))

import yaml  # noqa: E402

from helpers.cluster import install_istio  # noqa: E402
from helpers.inventory import write_inventory  # noqa: E402
from helpers.playbook import ansible_env  # noqa: E402
from k8s_server import start_server  # noqa: E402

CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"
LOOP_CAP = 50
VERBS = ("discovery", "get", "list", "create", "update", "patch", "delete")


def make_hosts(n, changed=0):
    """N hosts, every third one TLS on 443, the rest HTTP on 80; ``changed``
    of them also get the other one of those ports (a real change to the
    rendered objects, on ports the gateway Service exposes)."""
    hosts = []
    for i in range(n):
        tls = i % 3 == 2
        ports = [{"number": 443, "protocol": "TLS"}] if tls else [{"number": 80, "protocol": "HTTP"}]
        if i < changed:
            ports = ports + [{"number": 80, "protocol": "HTTP"} if tls else {"number": 443, "protocol": "TLS"}]
        hosts.append({"host": "svc-%04d.example.com" % i, "ports": ports})
    return hosts


def rendered_objects(hosts, owner):
    """The objects the collection writes, for the kubernetes.core forms."""
    from ansible_collections.meshops.istio_egress.plugins.filter.egress import render_egress
    from ansible_collections.meshops.istio_egress.plugins.filter.virtual_service import virtual_service_objects

    rendered = render_egress(hosts, {"owner": owner})
    return rendered["objects"] + virtual_service_objects(rendered["virtual_services"], owner)


def timed(cmd, env):
    """Run ``cmd`` in a child that reports its own children's peak RSS."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False); "
        "w = time.perf_counter() - t; "
        "print(p.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:] if p.returncode else '')"
    )
    proc = subprocess.run([sys.executable, "-c", probe] + cmd, env=env, capture_output=True, text=True, cwd=str(ROOT), check=False)
    rc, wall, rss_kb = proc.stdout.split()
    if int(rc) != 0:
        raise SystemExit("benchmark run failed: %s\n%s" % (" ".join(cmd), proc.stderr))
    return float(wall), int(rss_kb) / 1024.0


class Run(object):
    def __init__(self, server, workdir):
        self.server = server
        self.workdir = workdir

    def playbook(self, playbook, inventory, extra=None):
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        if extra:
            cmd += ["-e", "@" + str(extra)]
        self.server.reset_counts()
        wall, rss = timed(cmd, ansible_env(self.server.kubeconfig))
        counts = self.server.counts()
        return {"wall": wall, "rss_mb": rss, "counts": dict((v, counts.get(v, 0)) for v in VERBS), "writes": counts.get("writes", 0)}


def fresh_server():
    server = start_server(crd_file=str(CRDS))
    server.create_namespace("istio-system")
    install_istio(server)
    return server


def bench_collection(n, workdir):
    server = fresh_server()
    try:
        run = Run(server, workdir)
        site = ROOT / "playbooks" / "site.yml"
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n)}})
        first = run.playbook(site, inv)
        noop = run.playbook(site, inv)
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n, changed=max(1, n // 100))}})
        changed = run.playbook(site, inv)
        return {"first": first, "noop": noop, "changed_1pct": changed}
    finally:
        server.stop()


K8S_LOOP = """
- hosts: bench
  connection: local
  gather_facts: false
  tasks:
    - name: One kubernetes.core.k8s task per object
      kubernetes.core.k8s:
        definition: "{{ item }}"
        state: present
      loop: "{{ objects }}"
      loop_control:
        label: "{{ item.kind }}/{{ item.metadata.name }}"
"""

K8S_BATCH = """
- hosts: bench
  connection: local
  gather_facts: false
  tasks:
    - name: One kubernetes.core.k8s task with every object
      kubernetes.core.k8s:
        definition: "{{ objects }}"
        apply: true
"""


def bench_k8s_core(n, workdir, form):
    objects = rendered_objects(make_hosts(n), "bench")
    total = len(objects)
    if form == "loop":
        objects = objects[:LOOP_CAP]
    server = fresh_server()
    try:
        run = Run(server, workdir)
        playbook = workdir / ("k8s_%s.yml" % form)
        playbook.write_text(K8S_LOOP if form == "loop" else K8S_BATCH)
        extra = workdir / "objects.yml"
        extra.write_text(yaml.safe_dump({"objects": objects}))
        inv = write_inventory(workdir, {"bench": {}})
        result = {"first": run.playbook(playbook, inv, extra), "noop": run.playbook(playbook, inv, extra)}
        scale = float(total) / len(objects)
        result["measured_objects"], result["total_objects"] = len(objects), total
        if scale > 1:
            for phase in result.values():
                if isinstance(phase, dict):
                    phase["wall_measured"] = phase["wall"]
                    phase["wall"] = phase["wall"] * scale
        return result
    finally:
        server.stop()


def row(label, phase, extrapolated=False):
    c = phase["counts"]
    verbs = " ".join("%s=%d" % (v, c[v]) for v in VERBS if c[v])
    wall = "%.1f%s" % (phase["wall"], " (extrapolated)" if extrapolated else "")
    return "| %s | %s | %.0f | %d | %s |" % (label, wall, phase["rss_mb"], phase["writes"], verbs)


def report(results):
    lines = []
    for n, r in sorted(results.items()):
        col, loop, batch = r["collection"], r.get("loop"), r.get("batch")
        lines.append("\n### N = %d hosts (%d objects)\n" % (n, len(rendered_objects(make_hosts(n), "bench"))))
        lines.append("| run | wall s | peak RSS MB | writes | requests by verb |")
        lines.append("|---|---|---|---|---|")
        lines.append(row("collection: first run", col["first"]))
        lines.append(row("collection: no-op rerun", col["noop"]))
        lines.append(row("collection: 1% of hosts changed", col["changed_1pct"]))
        if loop:
            extrapolated = loop["measured_objects"] < loop["total_objects"]
            lines.append(row("k8s loop: first run", loop["first"], extrapolated))
            lines.append(row("k8s loop: no-op rerun", loop["noop"], extrapolated))
        if batch:
            lines.append(row("k8s batched apply: first run", batch["first"]))
            lines.append(row("k8s batched apply: no-op rerun", batch["noop"]))
        ratios = []
        for name, other in (("per-object loop", loop), ("batched k8s apply", batch)):
            if other:
                ratios.append("no-op rerun %.1fx faster than the %s (first run %.1fx)" % (
                    other["noop"]["wall"] / col["noop"]["wall"], name, other["first"]["wall"] / col["first"]["wall"]))
        lines.append("\nRatios: " + "; ".join(ratios) + ".")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--skip-k8s-core", action="store_true", help="measure only the collection")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if not CRDS.is_file():
        raise SystemExit("Istio CRD bundle not found at %s" % CRDS)
    results = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="egress-bench-") as tmp:
            workdir = Path(tmp)
            results[n] = {"collection": bench_collection(n, workdir)}
            if not args.skip_k8s_core:
                results[n]["loop"] = bench_k8s_core(n, workdir, "loop")
                results[n]["batch"] = bench_k8s_core(n, workdir, "batch")
        print(report({n: results[n]}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
