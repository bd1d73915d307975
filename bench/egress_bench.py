"""Benchmark: the collection against the kubernetes.core forms a user would
otherwise write, on the project's test control plane (a real etcd +
kube-apiserver, Istio's CRDs installed; tests/control_plane).

For each N: N external hosts (a mix of HTTP and TLS) rendered by the
collection's own filter; then, each form from a wiped cluster (Istio's mesh
ConfigMap and egress gateway only) and a cold discovery cache,
  - the collection (playbooks/site.yml): first run, no-op rerun, rerun with 1% of hosts changed;
  - one kubernetes.core.k8s task per object (a loop): first run and no-op rerun,
    measured on at most LOOP_CAP objects and extrapolated beyond;
  - one kubernetes.core.k8s task with every object (apply: true): first run and no-op rerun;
each twice: on loopback, and as a remote cluster (every request through the
control plane's proxy, REMOTE_LATENCY seconds added to each). Reports wall
seconds, peak RSS (largest process of the run), the requests by verb from the
API server's audit log (the playbook's user only), and the ratios. Usage:

    python bench/egress_bench.py --sizes 10 100 1000 [--json out.json]

KUBEBUILDER_ASSETS names the directory of etcd and kube-apiserver; without it
scripts/envtest-assets.sh builds them (minutes, once).
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

from control_plane import ISTIO_CRDS, ControlPlane, assets_dir  # noqa: E402
from control_plane.plane import forget_discovery_cache  # noqa: E402
from helpers.cluster import install_istio  # noqa: E402
from helpers.inventory import write_inventory  # noqa: E402
from helpers.playbook import ansible_env  # noqa: E402

LOOP_CAP = 50
REMOTE_LATENCY = 0.02
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


class Cluster(object):
    """One cluster of the benchmark: the shared control plane, wiped and set up anew for each
    form, reached directly (local) or through the proxy with added latency (remote)."""

    def __init__(self, plane, remote_latency=None):
        self.plane = plane
        self.remote_latency = remote_latency

    def __enter__(self):
        plane = self.plane
        plane.create_namespace("istio-system")
        install_istio(plane)
        if self.remote_latency:
            plane.set_latency(self.remote_latency)
        self.kubeconfig = plane.proxied_kubeconfig if self.remote_latency else plane.kubeconfig
        # A cold discovery cache, as a fresh controller (or execution environment) has.
        forget_discovery_cache(plane.proxy_url if self.remote_latency else plane.url)
        return self

    def __exit__(self, *exc_info):
        self.plane.wipe()  # every object the form wrote, and the added latency

    def playbook(self, playbook, inventory, extra=None):
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        if extra:
            cmd += ["-e", "@" + str(extra)]
        self.plane.reset_counts()
        wall, rss = timed(cmd, ansible_env(self.kubeconfig))
        counts = self.plane.counts()
        return {"wall": wall, "rss_mb": rss, "counts": dict((v, counts.get(v, 0)) for v in VERBS), "writes": counts["writes"]}


def bench_collection(cluster, n, workdir):
    with cluster:
        site = ROOT / "playbooks" / "site.yml"
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n)}})
        first = cluster.playbook(site, inv)
        noop = cluster.playbook(site, inv)
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n, changed=max(1, n // 100))}})
        changed = cluster.playbook(site, inv)
        return {"first": first, "noop": noop, "changed_1pct": changed}


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


def bench_k8s_core(cluster, n, workdir, form):
    objects = rendered_objects(make_hosts(n), "bench")
    total = len(objects)
    if form == "loop":
        objects = objects[:LOOP_CAP]
    with cluster:
        playbook = workdir / ("k8s_%s.yml" % form)
        playbook.write_text(K8S_LOOP if form == "loop" else K8S_BATCH)
        extra = workdir / "objects.yml"
        extra.write_text(yaml.safe_dump({"objects": objects}))
        inv = write_inventory(workdir, {"bench": {}})
        result = {"first": cluster.playbook(playbook, inv, extra), "noop": cluster.playbook(playbook, inv, extra)}
        scale = float(total) / len(objects)
        result["measured_objects"], result["total_objects"] = len(objects), total
        if scale > 1:
            for phase in result.values():
                if isinstance(phase, dict):
                    phase["wall_measured"] = phase["wall"]
                    phase["wall"] = phase["wall"] * scale
        return result


def row(label, phase, extrapolated=False):
    c = phase["counts"]
    verbs = " ".join("%s=%d" % (v, c[v]) for v in VERBS if c[v])
    wall = "%.1f%s" % (phase["wall"], " (extrapolated)" if extrapolated else "")
    return "| %s | %s | %.0f | %d | %s |" % (label, wall, phase["rss_mb"], phase["writes"], verbs)


def table(label, r):
    """One setting's rows (local or remote) and its ratios."""
    col, loop, batch = r["collection"], r.get("loop"), r.get("batch")
    lines = ["\n%s\n" % label, "| run | wall s | peak RSS MB | writes | requests by verb |", "|---|---|---|---|---|",
             row("collection: first run", col["first"]),
             row("collection: no-op rerun", col["noop"]),
             row("collection: 1% of hosts changed", col["changed_1pct"])]
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
    if ratios:
        lines.append("\nRatios: " + "; ".join(ratios) + ".")
    return lines


def report(results):
    lines = []
    for n, r in sorted(results.items()):
        lines.append("\n### N = %d hosts (%d objects)" % (n, len(rendered_objects(make_hosts(n), "bench"))))
        lines += table("Local (loopback):", r["local"])
        if "remote" in r:
            lines += table("Remote cluster (+%d ms on every request, through the proxy):" % round(r["remote_latency"] * 1000),
                           r["remote"])
    return "\n".join(lines)


def bench_setting(cluster, n, workdir, with_k8s_core):
    result = {"collection": bench_collection(cluster, n, workdir)}
    if with_k8s_core:
        result["loop"] = bench_k8s_core(cluster, n, workdir, "loop")
        result["batch"] = bench_k8s_core(cluster, n, workdir, "batch")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--skip-k8s-core", action="store_true", help="measure only the collection")
    parser.add_argument("--remote-latency", type=float, default=REMOTE_LATENCY,
                        help="seconds added to each request in the remote rows (0: no remote rows)")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if not ISTIO_CRDS.is_file():
        raise SystemExit("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    results = {}
    with ControlPlane(assets_dir(), crd_file=str(ISTIO_CRDS)) as plane:
        for n in args.sizes:
            with tempfile.TemporaryDirectory(prefix="egress-bench-") as tmp:
                workdir = Path(tmp)
                results[n] = {"local": bench_setting(Cluster(plane), n, workdir, not args.skip_k8s_core)}
                if args.remote_latency:
                    results[n]["remote_latency"] = args.remote_latency
                    results[n]["remote"] = bench_setting(Cluster(plane, args.remote_latency), n, workdir,
                                                         not args.skip_k8s_core)
            print(report({n: results[n]}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
