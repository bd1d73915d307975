"""Benchmark: the collection against the kubernetes.core forms a user would
otherwise write, on the project's test control plane (a real etcd +
kube-apiserver, Istio's CRDs installed; tests/control_plane).

For each N: N external hosts (a mix of HTTP and TLS) rendered by the
collection's own filter; then, each form from a wiped cluster (Istio's mesh
ConfigMap and egress gateway only) and a cold discovery cache,
  - the collection (playbooks/site.yml): first run, no-op rerun, rerun with 1% of hosts changed;
  - one kubernetes.core.k8s task per object (a loop): first run and no-op rerun,
    measured on at most LOOP_CAP objects and extrapolated beyond;
  - the baseline: one kubernetes.core.k8s task with every object (apply: true): first run and no-op rerun;
each on loopback (--sizes) and as a remote cluster (--remote-sizes, default the
same N; every request through the control plane's proxy, REMOTE_LATENCY
seconds added to each). Reports wall seconds, peak RSS (largest process of the
run), writes, task results (ok + skipped + failed + rescued + unreachable of
the PLAY RECAP; changed results are already in ok), the requests by verb from
the API server's audit log (the playbook's user only), and the collection's
speed relative to the baseline and the loop (other form's wall / collection's
wall).

--fleet CLUSTERSxHOSTS adds a fleet run: one inventory of CLUSTERS clusters
(cluster-00, ...), all on the one API server, each with its own owner (its
inventory name) and hosts namespace (egress-<name>), HOSTS hosts each; site.yml
with --forks, first run and no-op rerun, reported per cluster. All clusters
share the mesh ConfigMap and egress gateway of istio-system (same policy).
Usage:

    python bench/egress_bench.py --sizes 10 100 1000 [--json out.json]
    python bench/egress_bench.py --sizes 10 1000 --remote-sizes 200 --skip-loop
    python bench/egress_bench.py --sizes --remote-sizes --fleet 20x20 --forks 10

KUBEBUILDER_ASSETS names the directory of etcd and kube-apiserver; without it
scripts/envtest-assets.sh builds them (minutes, once).
"""
import argparse
import json
import re
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
    """Run ``cmd`` in a child that reports its own children's peak RSS; returns
    (wall seconds, peak RSS MB, the command's stdout)."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False); "
        "w = time.perf_counter() - t; "
        "print(p.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.stdout.write(p.stdout); "
        "sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:] if p.returncode else '')"
    )
    proc = subprocess.run([sys.executable, "-c", probe] + cmd, env=env, capture_output=True, text=True, cwd=str(ROOT), check=False)
    head, stdout = proc.stdout.split("\n", 1) if "\n" in proc.stdout else (proc.stdout, "")
    rc, wall, rss_kb = head.split()
    if int(rc) != 0:
        raise SystemExit("benchmark run failed: %s\n%s" % (" ".join(cmd), proc.stderr))
    return float(wall), int(rss_kb) / 1024.0, stdout


RECAP_HOST = re.compile(r"^(\S+)\s*:\s*((?:[a-z_]+=\d+\s*)+)$")


def parse_recap(stdout):
    """{host: {counter: value}} from the last PLAY RECAP of ansible-playbook's default output, e.g.
    ``bench : ok=37 changed=0 unreachable=0 failed=0 skipped=15 rescued=0 ignored=0``."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("PLAY RECAP")]
    recap = {}
    for line in lines[starts[-1] + 1:] if starts else []:
        match = RECAP_HOST.match(line.strip())
        if match:
            recap[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"([a-z_]+)=(\d+)", match.group(2)))
    return recap


def task_results(counters):
    """The task results of one host's recap. Ansible counts a changed result in ok as well (and an
    ignored failure in ok), an include_* task in none, a rescued failure in rescued only."""
    return sum(counters.get(k, 0) for k in ("ok", "skipped", "failed", "rescued", "unreachable"))


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

    def playbook(self, playbook, inventory, extra=None, hosts=("bench",), forks=None):
        """One timed run; ``tasks`` is the task results of all ``hosts`` (each must be in the recap)."""
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        if extra:
            cmd += ["-e", "@" + str(extra)]
        if forks:
            cmd += ["-f", str(forks)]
        self.plane.reset_counts()
        wall, rss, stdout = timed(cmd, ansible_env(self.kubeconfig))
        counts = self.plane.counts()
        recap = parse_recap(stdout)
        missing = [host for host in hosts if host not in recap]
        if missing:
            raise SystemExit("no PLAY RECAP line for %s in the output of %s:\n%s" % (", ".join(missing), " ".join(cmd), stdout[-4000:]))
        return {"wall": wall, "rss_mb": rss, "counts": dict((v, counts.get(v, 0)) for v in VERBS), "writes": counts["writes"],
                "tasks": sum(task_results(recap[host]) for host in hosts), "recap": recap}


def bench_collection(cluster, n, workdir):
    with cluster:
        site = ROOT / "playbooks" / "site.yml"
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n)}})
        first = cluster.playbook(site, inv)
        noop = cluster.playbook(site, inv)
        inv = write_inventory(workdir, {"bench": {"external_services_hosts": make_hosts(n, changed=max(1, n // 100))}})
        changed = cluster.playbook(site, inv)
        return {"first": first, "noop": noop, "changed_1pct": changed}


def bench_fleet(cluster, clusters, hosts, forks, workdir):
    """site.yml on CLUSTERS inventory hosts of HOSTS hosts each, all on the one control plane."""
    names = ["cluster-%02d" % i for i in range(clusters)]
    with cluster:
        for name in names:
            cluster.plane.create_namespace("egress-" + name)
        site = ROOT / "playbooks" / "site.yml"
        inv = write_inventory(workdir, dict(
            (name, {"external_services_hosts": make_hosts(hosts), "external_services_namespace": "egress-" + name}) for name in names))
        first = cluster.playbook(site, inv, hosts=names, forks=forks)
        noop = cluster.playbook(site, inv, hosts=names, forks=forks)
        return {"clusters": clusters, "hosts": hosts, "forks": forks, "first": first, "noop": noop}


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


BASELINE = "k8s apply baseline (one kubernetes.core.k8s task, apply: true)"


def row(label, phase, extrapolated=False):
    c = phase["counts"]
    verbs = " ".join("%s=%d" % (v, c[v]) for v in VERBS if c[v])
    wall = "%.1f%s" % (phase["wall"], " (extrapolated)" if extrapolated else "")
    tasks = "%d%s" % (phase["tasks"], " (measured)" if extrapolated else "")
    return "| %s | %s | %.0f | %d | %s | %s |" % (label, wall, phase["rss_mb"], phase["writes"], tasks, verbs)


def speed(col, other, name):
    """The collection's speed relative to another form: other's wall / collection's wall."""
    return "no-op rerun: collection %.2fx the %s's speed; first run: collection %.2fx the %s's speed" % (
        other["noop"]["wall"] / col["noop"]["wall"], name, other["first"]["wall"] / col["first"]["wall"], name)


def table(label, r):
    """One setting's rows (local or remote) and its ratios."""
    col, loop, batch = r["collection"], r.get("loop"), r.get("batch")
    lines = ["\n%s\n" % label, "| run | wall s | peak RSS MB | writes | tasks | requests by verb |", "|---|---|---|---|---|---|",
             row("collection: first run", col["first"]),
             row("collection: no-op rerun", col["noop"]),
             row("collection: 1% of hosts changed", col["changed_1pct"])]
    if loop:
        extrapolated = loop["measured_objects"] < loop["total_objects"]
        lines.append(row("k8s loop (one kubernetes.core.k8s task per object): first run", loop["first"], extrapolated))
        lines.append(row("k8s loop (one kubernetes.core.k8s task per object): no-op rerun", loop["noop"], extrapolated))
    if batch:
        lines.append(row(BASELINE + ": first run", batch["first"]))
        lines.append(row(BASELINE + ": no-op rerun", batch["noop"]))
    ratios = [speed(col, other, name) for name, other in (("baseline", batch), ("per-object loop", loop)) if other]
    if ratios:
        lines.append("\nSpeed (other form's wall / collection's wall):\n" + "\n".join("- %s." % r for r in ratios))
    return lines


def fleet_table(fleet):
    """The fleet run, per cluster except wall (also whole-run) and peak RSS (largest process)."""
    n = float(fleet["clusters"])
    lines = ["\n### Fleet: %d clusters x %d hosts, forks %d (one API server, a namespace per cluster)\n" % (
        fleet["clusters"], fleet["hosts"], fleet["forks"]),
        "| run | wall s (per cluster) | peak RSS MB | writes per cluster | tasks per cluster | requests per cluster by verb |",
        "|---|---|---|---|---|---|"]
    for label, phase in (("collection: first run", fleet["first"]), ("collection: no-op rerun", fleet["noop"])):
        c = phase["counts"]
        verbs = " ".join("%s=%.1f" % (v, c[v] / n) for v in VERBS if c[v])
        lines.append("| %s | %.1f (%.2f) | %.0f | %.1f | %.1f | %s |" % (
            label, phase["wall"], phase["wall"] / n, phase["rss_mb"], phase["writes"] / n, phase["tasks"] / n, verbs))
    return lines


def report(results):
    lines = []
    for n, r in sorted(results.items()):
        lines.append("\n### N = %d hosts (%d objects)" % (n, len(rendered_objects(make_hosts(n), "bench"))))
        if "local" in r:
            lines += table("Local (loopback):", r["local"])
        if "remote" in r:
            lines += table("Remote cluster (+%d ms on every request, through the proxy):" % round(r["remote_latency"] * 1000),
                           r["remote"])
    return "\n".join(lines)


def bench_setting(cluster, n, workdir, with_k8s_core, with_loop=True):
    result = {"collection": bench_collection(cluster, n, workdir)}
    if with_k8s_core:
        if with_loop:
            result["loop"] = bench_k8s_core(cluster, n, workdir, "loop")
        result["batch"] = bench_k8s_core(cluster, n, workdir, "batch")
    return result


def fleet_shape(text):
    """``CLUSTERSxHOSTS``, e.g. ``20x20``."""
    match = re.match(r"^(\d+)x(\d+)$", text.strip())
    if not match or not int(match.group(1)) or not int(match.group(2)):
        raise argparse.ArgumentTypeError("expected CLUSTERSxHOSTS, e.g. 20x20, got %r" % text)
    return int(match.group(1)), int(match.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000], help="N of the local rows (none: no local rows)")
    parser.add_argument("--remote-sizes", type=int, nargs="*",
                        help="N of the remote rows (default: --sizes; none: no remote rows)")
    parser.add_argument("--skip-k8s-core", action="store_true", help="measure only the collection")
    parser.add_argument("--skip-loop", action="store_true", help="skip the per-object k8s loop form (keep the baseline)")
    parser.add_argument("--remote-latency", type=float, default=REMOTE_LATENCY,
                        help="seconds added to each request in the remote rows (0: no remote rows)")
    parser.add_argument("--fleet", type=fleet_shape, metavar="CLUSTERSxHOSTS",
                        help="also run site.yml on CLUSTERS clusters of HOSTS hosts each, e.g. 20x20")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks of the fleet run (default 10)")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if not ISTIO_CRDS.is_file():
        raise SystemExit("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    remote_sizes = args.sizes if args.remote_sizes is None else args.remote_sizes
    if not args.remote_latency:
        remote_sizes = []
    k8s_core, loop = not args.skip_k8s_core, not args.skip_loop
    results, fleet = {}, None
    with ControlPlane(assets_dir(), crd_file=str(ISTIO_CRDS)) as plane:
        for n in list(dict.fromkeys(args.sizes + remote_sizes)):
            results[n] = {}
            with tempfile.TemporaryDirectory(prefix="egress-bench-") as tmp:
                workdir = Path(tmp)
                if n in args.sizes:
                    results[n]["local"] = bench_setting(Cluster(plane), n, workdir, k8s_core, loop)
                if n in remote_sizes:
                    results[n]["remote_latency"] = args.remote_latency
                    results[n]["remote"] = bench_setting(Cluster(plane, args.remote_latency), n, workdir, k8s_core, loop)
            print(report({n: results[n]}), flush=True)
        if args.fleet:
            with tempfile.TemporaryDirectory(prefix="egress-bench-fleet-") as tmp:
                fleet = bench_fleet(Cluster(plane), args.fleet[0], args.fleet[1], args.forks, Path(tmp))
            print("\n".join(fleet_table(fleet)), flush=True)
    if args.json:
        out = dict((str(n), r) for n, r in results.items())
        if fleet:
            out["fleet"] = fleet
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
