#!/usr/bin/python3
"""Renders docker/k8s/ (the kustomization's resources) into objects `podman kube play` runs.

    /usr/bin/python3 scripts/kube-play-render.py --out DIR --token-file TOKEN \\
        --port horde-controller=17400 --port horde-target=18080 [--prefix NAME-] \\
        [--image horde:test] [--duration 3s] [--warmup 0s]

writes DIR/play.yaml (for `podman kube play`) and DIR/secret.json (for `podman secret
create PREFIXhorde-token DIR/secret.json`). docker/k8s/ stays the one source: this only
translates what a cluster does and Podman 4.3 does not, and refuses what it cannot translate:

- Namespace: dropped (Podman has none). Secret: not a kind kube play reads; written as the
  JSON a Podman secret must hold for secretKeyRef ({key: base64(value)}), the value of the
  source's placeholder token replaced by --token-file's content.
- Job -> Pod with the Job's template. An Indexed Job (completionMode: Indexed) becomes
  `completions` Pods NAME-0..N-1, each with the batch.kubernetes.io/job-completion-index
  annotation the Job controller sets (its fieldRef works in kube play). Deployment stays.
- Service: dropped. Every pod runs in the host's network (hostNetwork), so traffic stays on
  loopback; as all pods share the host's ports, each Service gets a free local port
  (--port NAME=PORT, required for each Service): "NAME:PORT" becomes "127.0.0.1:LOCAL"
  everywhere (args, the ConfigMap's workload; kube play 4.3 writes no hostAliases into
  /etc/hosts with hostNetwork) and the selected pods' "0.0.0.0:TARGETPORT" becomes
  "127.0.0.1:LOCAL".
- $(VAR) in command and args is expanded as the kubelet does (kube play 4.3 does not), from
  the container's env: values, the job-completion-index annotation, spec.nodeName.
- Not expressible here, dropped: pod anti-affinity (one host), readiness and liveness
  probes (kube play 4.3 ignores readinessProbe; a liveness httpGet needs curl, which the
  slim image has not), the fieldRef spec.nodeName (unsupported: the value becomes the host
  name, what the downward API gives on a node).
- --prefix goes before every object name (pods, ConfigMap, secret, volumes: kube play's
  emptyDir is shared by name between pods) so runs never collide;
  --image replaces the image named in kustomization.yaml's `images:`; --duration and
  --warmup set the ConfigMap workload's load.duration / load.warmup (a short test run).
Any other kind, or a Service without --port, is an error (exit 2) naming it.
"""

import argparse
import base64
import copy
import json
import os
import socket
import sys

import yaml


def die(msg):
    print(f"kube-play-render: {msg}", file=sys.stderr)
    sys.exit(2)


def load_sources(kustomization):
    base = os.path.dirname(kustomization)
    with open(kustomization, encoding="utf-8") as f:
        kust = yaml.safe_load(f)
    objects = []
    for res in kust.get("resources", []):
        with open(os.path.join(base, res), encoding="utf-8") as f:
            objects += [o for o in yaml.safe_load_all(f) if o]
    return kust, objects


def walk_strings(node, fn):
    """Applies fn to every string in a nested dict/list (keys untouched)."""
    if isinstance(node, dict):
        return {k: walk_strings(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [walk_strings(v, fn) for v in node]
    if isinstance(node, str):
        return fn(node)
    return node


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kustomization", default="docker/k8s/kustomization.yaml")
    ap.add_argument("--out", required=True, help="directory for play.yaml and secret.json")
    ap.add_argument("--token-file", required=True, help="the token for the Secret")
    ap.add_argument("--port", action="append", default=[], metavar="SERVICE=PORT",
                    help="the local port for a Service (one for each)")
    ap.add_argument("--prefix", default="", help="before every object name")
    ap.add_argument("--image", default="", help="image for every container")
    ap.add_argument("--duration", default="", help="the workload's load.duration")
    ap.add_argument("--warmup", default="", help="the workload's load.warmup")
    a = ap.parse_args()

    kust, objects = load_sources(a.kustomization)
    ports = {}
    for p in a.port:
        name, _, port = p.partition("=")
        if not port.isdigit() or not 0 < int(port) < 65536:
            die(f"--port {p}: expected SERVICE=PORT with PORT 1-65535, e.g. horde-controller=17400")
        ports[name] = int(port)
    with open(a.token_file, encoding="utf-8") as f:
        token = f.read().strip()
    if not token:
        die(f"--token-file {a.token_file}: empty; write a token, e.g. openssl rand -hex 32 > FILE")

    images = {i["name"]: i for i in kust.get("images", [])}

    def image_of(name):
        if a.image:
            return a.image
        repo, _, tag = name.partition(":")
        i = images.get(repo)
        if not i:
            return name
        return f"{i.get('newName', repo)}:{i.get('newTag', tag or 'latest')}"

    # Services: name:port -> name:local, and 0.0.0.0:containerPort -> 127.0.0.1:local in
    # the pods they select (the container port resolved by the targetPort's name).
    services = [o for o in objects if o["kind"] == "Service"]
    rename = {}  # "horde-controller:7400" -> "horde-controller:17400"
    listens = []  # (selector, "0.0.0.0:7400"-style string or port name, local)
    for s in services:
        name = s["metadata"]["name"]
        if name not in ports:
            die(f"Service {name}: give it a local port, e.g. --port {name}=17400")
        for sp in s["spec"]["ports"]:
            rename[f"{name}:{sp['port']}"] = f"127.0.0.1:{ports[name]}"
            listens.append((s["spec"].get("selector"), sp.get("targetPort", sp["port"]),
                            ports[name]))

    def rename_services(text):
        for old, new in rename.items():
            text = text.replace(old, new)
        return text

    names = {}  # ConfigMap/Secret renames by the prefix
    for o in objects:
        if o["kind"] in ("ConfigMap", "Secret"):
            names[o["metadata"]["name"]] = a.prefix + o["metadata"]["name"]

    secret_json = None
    secret_keys = {}
    out = []
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind in ("Namespace", "Service"):
            continue
        if kind == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
            data.update(o.get("stringData") or {})
            if len(data) != 1:
                die(f"Secret {name}: expected one key (the token), found {sorted(data)}")
            secret_keys[name] = set(data)
            secret_json = {k: base64.b64encode(token.encode()).decode() for k in data}
            continue
        if kind == "ConfigMap":
            cm = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": names[name], "labels": o["metadata"].get("labels", {})},
                  "data": {}}
            for key, text in (o.get("data") or {}).items():
                text = rename_services(text)
                if key.endswith((".yaml", ".yml")) and (a.duration or a.warmup):
                    w = yaml.safe_load(text)
                    if not isinstance(w, dict) or "load" not in w:
                        die(f"ConfigMap {name} key {key}: no load section to set the duration in")
                    if a.duration:
                        w["load"]["duration"] = a.duration
                    if a.warmup:
                        w["load"]["warmup"] = a.warmup
                    text = "# Rendered by scripts/kube-play-render.py (duration/warmup set)\n" + \
                        yaml.safe_dump(w, sort_keys=False)
                cm["data"][key] = text
            out.append(cm)
            continue
        if kind == "Job":
            spec = o["spec"]
            indexed = spec.get("completionMode") == "Indexed"
            count = int(spec.get("completions", 1)) if indexed else 1
            if not indexed and int(spec.get("parallelism", 1)) != 1:
                die(f"Job {name}: parallelism > 1 without completionMode: Indexed is not rendered")
            for i in range(count):
                tmpl = copy.deepcopy(spec["template"])
                meta = tmpl.setdefault("metadata", {})
                meta["name"] = a.prefix + (f"{name}-{i}" if indexed else name)
                if indexed:
                    meta.setdefault("annotations", {})[
                        "batch.kubernetes.io/job-completion-index"] = str(i)
                out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                            "spec": tmpl["spec"]})
            continue
        if kind == "Deployment":
            d = copy.deepcopy(o)
            d["metadata"] = {"name": a.prefix + name, "labels": o["metadata"].get("labels", {})}
            out.append(d)
            continue
        die(f"{kind} {name}: no kube play form for this kind (Job, Deployment, ConfigMap, "
            "Secret, Service and Namespace are rendered)")

    host = socket.gethostname()
    for o in out:
        if o["kind"] == "ConfigMap":
            continue
        pod = o["spec"] if o["kind"] == "Pod" else o["spec"]["template"]["spec"]
        labels = (o["metadata"] if o["kind"] == "Pod" else
                  o["spec"]["template"].get("metadata", {})).get("labels", {})
        annotations = (o["metadata"] if o["kind"] == "Pod" else
                       o["spec"]["template"].get("metadata", {})).get("annotations", {})
        pod["hostNetwork"] = True
        pod.pop("affinity", None)
        for vol in pod.get("volumes", []):
            vol["name"] = a.prefix + vol["name"]
            if "configMap" in vol:
                vol["configMap"]["name"] = names.get(vol["configMap"]["name"],
                                                     vol["configMap"]["name"])
        for c in pod["containers"]:
            c["image"] = image_of(c["image"])
            c.pop("readinessProbe", None)
            c.pop("livenessProbe", None)
            for m in c.get("volumeMounts", []):
                m["name"] = a.prefix + m["name"]
            values = {}  # env with a value known here, for $(VAR) in command and args
            for env in c.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    if ref["key"] not in secret_keys.get(ref["name"], set()):
                        die(f"container {c['name']}: secretKeyRef {ref['name']}/{ref['key']} "
                            "names no key of a Secret in the sources")
                    ref["name"] = names[ref["name"]]
                field = ((env.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
                if field == "spec.nodeName":
                    env.pop("valueFrom")
                    env["value"] = host
                elif field and field.startswith("metadata.annotations['"):
                    key = field[len("metadata.annotations['"):-2]
                    if key not in annotations:
                        die(f"container {c['name']}: fieldRef {field}: no such annotation")
                    env.pop("valueFrom")
                    env["value"] = annotations[key]
                elif field:
                    die(f"container {c['name']}: fieldRef {field} is not rendered")
                if "value" in env:
                    values[env["name"]] = env["value"]
            # Listen addresses of the pods a Service selects: by port number or name.
            subs = {}
            for selector, target, local in listens:
                if not selects(selector, labels):
                    continue
                for cp in c.get("ports", []):
                    if target in (cp.get("name"), cp["containerPort"]):
                        subs[f"0.0.0.0:{cp['containerPort']}"] = f"127.0.0.1:{local}"
                        cp["containerPort"] = local
            def expand(text):
                for var, val in values.items():
                    text = text.replace(f"$({var})", val)
                return text
            for key in ("command", "args"):
                if key in c:
                    c[key] = walk_strings(c[key], expand)
                    c[key] = walk_strings(c[key], rename_services)
                    for old, new in subs.items():
                        c[key] = walk_strings(c[key], lambda s, o=old, n=new: s.replace(o, n))
            # hostNetwork: a containerPort is only documentation; kube play would try to
            # publish it (hostPort) and collide. The Service's local port is in the args.
            c.pop("ports", None)

    if secret_json is None:
        die(f"{a.kustomization}: no Secret in the resources (the token)")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "play.yaml"), "w", encoding="utf-8") as f:
        f.write("# Rendered from docker/k8s/ by scripts/kube-play-render.py for podman kube play.\n")
        yaml.safe_dump_all(out, f, sort_keys=False)
    fd = os.open(os.path.join(a.out, "secret.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(secret_json, f)


if __name__ == "__main__":
    main()
