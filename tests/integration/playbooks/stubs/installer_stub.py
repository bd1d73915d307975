"""Stand-in for helm and istioctl, which cannot run here (tests copy it as
``<tmp>/bin/helm`` or ``<tmp>/bin/istioctl`` with this Python as interpreter).

Every call is appended to ``<name>.log`` next to the executable (argv and the
KUBECONFIG it got); state lives in ``state.json`` there, so tests can seed
releases and read what was installed. Like the real installers, a first
install creates the gateway Deployment and Service through the API, labelled
the way that installer labels them.
"""
import json
import os
import sys

import kubernetes
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = os.path.join(HERE, "state.json")
# helm flags whose value may come as the next argument
VALUE_FLAGS = ("--filter", "--namespace", "-n", "--version", "--repo", "-f", "--values")


def record(argv):
    with open(os.path.join(HERE, os.path.basename(argv[0]) + ".log"), "a") as log:
        log.write(json.dumps({"argv": argv, "kubeconfig": os.environ.get("KUBECONFIG")}) + "\n")


def load():
    if os.path.exists(STATE):
        with open(STATE) as stream:
            return json.load(stream)
    return {}


def save(state):
    with open(STATE, "w") as stream:
        json.dump(state, stream)


def merge(base, update):
    result = dict(base)
    for key, value in update.items():
        result[key] = merge(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


def create_gateway(kubeconfig, name, namespace, labels, annotations, pod_labels, ports):
    api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    meta = {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}
    kubernetes.client.AppsV1Api(api).create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {"replicas": 1, "selector": {"matchLabels": pod_labels},
                 "template": {"metadata": {"labels": pod_labels},
                              "spec": {"containers": [{"name": "istio-proxy", "image": "auto"}]}}}})
    kubernetes.client.CoreV1Api(api).create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"type": "ClusterIP", "selector": pod_labels,
                 "ports": [{"name": p["name"], "port": p["port"], "targetPort": p["targetPort"]} for p in ports]}})


def parse(args):
    words, options, rest = [], {}, list(args)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-"):
            key, value = arg.partition("=")[::2]
            if not value and key in VALUE_FLAGS:
                value = rest.pop(0)
            options.setdefault(key, []).append(value)
        else:
            words.append(arg.strip("'"))
    return words, options


def helm(argv):
    """The commands kubernetes.core.helm and helm_info run."""
    words, options = parse(argv[1:])
    state = load()
    releases = state.setdefault("releases", {})
    if words[:1] == ["version"]:
        print("v3.15.4+gfa9efb0" if "--short" in options else 'version.BuildInfo{Version:"v3.15.4", GitCommit:"x"}')
    elif words[:1] == ["list"]:
        name = options["--filter"][0]
        print(yaml.safe_dump([releases[name]["status"]] if name in releases else []))
    elif words[:2] == ["get", "values"]:
        release = releases.get(words[2])
        print(yaml.safe_dump(release["values"]) if release and release["values"] else "null")
    elif words[:1] == ["get"]:
        print("")
    elif words[:2] == ["plugin", "list"]:
        print("NAME\tVERSION\tDESCRIPTION")
    elif words[:2] == ["show", "chart"]:
        version = (options.get("--version") or ["1.24.0"])[0]
        print(yaml.safe_dump({"apiVersion": "v2", "name": words[2], "version": version, "appVersion": version}))
    elif words[:1] == ["upgrade"]:
        name, chart = words[1], words[2]
        values = {}
        for path in options.get("-f", []) + options.get("--values", []):
            with open(path) as stream:
                values = merge(values, yaml.safe_load(stream) or {})
        first = name not in releases
        if not first and options.get("--reuse-values") == ["True"]:
            values = merge(releases[name]["values"], values)
        version = (options.get("--version") or ["1.24.0"])[0]
        namespace = os.environ.get("HELM_NAMESPACE", "default")
        releases[name] = {"values": values, "status": {
            "name": name, "namespace": namespace, "revision": "1" if first else "2", "status": "deployed",
            "chart": chart + "-" + version, "app_version": version}}
        save(state)
        if first and chart == "gateway":
            gateway = values.get("name") or name
            pod_labels = {"app": gateway, "istio": values.get("labels", {}).get("istio", gateway.replace("istio-", ""))}
            create_gateway(os.environ["KUBECONFIG"], gateway, namespace,
                           dict(pod_labels, **{"app.kubernetes.io/managed-by": "Helm"}),
                           {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace},
                           pod_labels, values["service"]["ports"])
        print("Release %s has been upgraded." % name)
    else:
        sys.exit("helm stub: unexpected command %r" % (argv,))


def istioctl(argv):
    """``istioctl version`` and ``istioctl install -y [--kubeconfig K] -f <file>...``."""
    if argv[1:2] == ["version"]:
        print("client version: 1.24.0")
        return
    if argv[1:3] != ["install", "-y"]:
        sys.exit("istioctl stub: unexpected command %r" % (argv,))
    files = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-f"]
    state = load()
    documents = []
    for path in files:
        with open(path) as stream:
            documents.append(stream.read())
    state.setdefault("installs", []).append(documents)
    if not state.get("created"):
        gateway = yaml.safe_load(documents[-1])["spec"]["components"]["egressGateways"][0]
        create_gateway(argv[argv.index("--kubeconfig") + 1], gateway["name"], gateway["namespace"],
                       dict(gateway["label"], **{"operator.istio.io/component": "EgressGateways"}), {},
                       gateway["label"], gateway["k8s"]["service"]["ports"])
        state["created"] = True
    save(state)
    print("Installation complete")


if __name__ == "__main__":
    record(sys.argv)
    {"helm": helm, "istioctl": istioctl}[os.path.basename(sys.argv[0])](sys.argv)
