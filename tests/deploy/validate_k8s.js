#!/usr/bin/env node
// Offline check of horde's Kubernetes manifests (no cluster needed):
//  1. every document of every manifest parses and validates against the Kubernetes
//     API schema of its apiVersion/kind (npm kubernetes-models);
//  2. a directory's kustomization.yaml lists exactly the manifests beside it;
//  3. the objects agree with each other: referenced ConfigMaps/Secrets exist, each
//     Service selects some pod template and targets a port it names, the controller
//     Job never retries, the agent Job is Indexed with parallelism == completions ==
//     the controller's --expect-agents, and agents dial the controller's Service.
// Usage: node validate_k8s.js [DIR_OR_FILE...]   (default: ../../docker/k8s)
// Exit 0 and "ok: N objects" when valid; 1 with one line per problem otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

// "batch/v1" -> require("kubernetes-models/batch/v1"); "v1" -> "kubernetes-models/v1".
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || !/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion)) {
    return null;
  }
  let mod;
  try {
    mod = require(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  return typeof mod[kind] === 'function' ? mod[kind] : null;
}

function loadFile(file, objects) {
  const where = path.basename(file);
  let docs;
  try {
    docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    problem(where, e.message);
    return;
  }
  docs.forEach((doc, i) => {
    const at = docs.length > 1 ? `${where}[${i}]` : where;
    if (doc.errors.length) {
      doc.errors.forEach((e) => problem(at, `YAML: ${e.message}`));
      return;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;  // an empty document
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      problem(at, 'not a Kubernetes object (expected a mapping)');
      return;
    }
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) {
      problem(at, `unknown apiVersion/kind ${obj.apiVersion}/${obj.kind}`);
      return;
    }
    if (!obj.metadata || typeof obj.metadata.name !== 'string' || !obj.metadata.name) {
      problem(at, 'metadata.name is missing');
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problem(`${at} ${obj.kind}/${obj.metadata && obj.metadata.name}`, e.message);
      return;
    }
    objects.push({ at, obj });
  });
}

function checkKustomization(dir, manifests) {
  const file = path.join(dir, 'kustomization.yaml');
  if (!fs.existsSync(file)) return;
  let k;
  try {
    k = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    problem('kustomization.yaml', e.message);
    return;
  }
  const listed = new Set(k.resources || []);
  for (const r of listed) {
    if (!fs.existsSync(path.join(dir, r))) problem('kustomization.yaml', `resource ${r} missing`);
  }
  for (const m of manifests) {
    if (!listed.has(path.basename(m))) {
      problem('kustomization.yaml', `${path.basename(m)} is not listed in resources`);
    }
  }
}

const podSpecOf = (obj) => obj.spec && obj.spec.template && obj.spec.template.spec;
const labelsOf = (obj) =>
  (obj.spec && obj.spec.template && obj.spec.template.metadata &&
   obj.spec.template.metadata.labels) || {};
const argsOf = (c) => [...(c.command || []), ...(c.args || [])].join(' ');
const flag = (text, name) => {
  const m = text.match(new RegExp(`${name}[ =]+"?([^"\\s]+)`));
  return m ? m[1] : null;
};

function checkTogether(objects) {
  const named = (kind, ns, name) =>
    objects.some(({ obj }) => obj.kind === kind && obj.metadata.name === name &&
                 (obj.metadata.namespace || '') === ns);
  const workloads = objects.filter(({ obj }) => podSpecOf(obj));

  for (const { at, obj } of workloads) {
    const ns = obj.metadata.namespace || '';
    const spec = podSpecOf(obj);
    for (const v of spec.volumes || []) {
      if (v.configMap && !named('ConfigMap', ns, v.configMap.name)) {
        problem(at, `volume ${v.name}: ConfigMap ${v.configMap.name} not defined`);
      }
      if (v.secret && !named('Secret', ns, v.secret.secretName)) {
        problem(at, `volume ${v.name}: Secret ${v.secret.secretName} not defined`);
      }
    }
    for (const c of spec.containers) {
      for (const e of c.env || []) {
        const ref = e.valueFrom && e.valueFrom.secretKeyRef;
        if (ref && !named('Secret', ns, ref.name)) {
          problem(at, `env ${e.name}: Secret ${ref.name} not defined`);
        }
      }
      const mounts = new Set((spec.volumes || []).map((v) => v.name));
      for (const m of c.volumeMounts || []) {
        if (!mounts.has(m.name)) problem(at, `volumeMount ${m.name}: no such volume`);
      }
    }
  }

  for (const { at, obj } of objects.filter(({ obj }) => obj.kind === 'Service')) {
    const sel = obj.spec.selector || {};
    const ns = obj.metadata.namespace || '';
    const match = workloads.find(({ obj: w }) => (w.metadata.namespace || '') === ns &&
        Object.keys(sel).length > 0 &&
        Object.entries(sel).every(([k, v]) => labelsOf(w)[k] === v));
    if (!match) {
      problem(at, `Service ${obj.metadata.name} selects no pod template`);
      continue;
    }
    const ports = podSpecOf(match.obj).containers.flatMap((c) => c.ports || []);
    for (const p of obj.spec.ports || []) {
      const t = p.targetPort === undefined ? p.port : p.targetPort;
      if (!ports.some((cp) => cp.name === t || cp.containerPort === t)) {
        problem(at, `Service ${obj.metadata.name} port ${p.port}: no container port ${t}`);
      }
    }
  }

  // horde's roles, found by what their containers run.
  const role = (r) => workloads.filter(({ obj }) =>
    podSpecOf(obj).containers.some((c) => new RegExp(`(^|[\\s/])(horde )?${r}\\b`).test(
        argsOf(c).replace(/^sh -c\s*/, ''))));
  const controllers = role('controller').filter(({ obj }) => obj.kind === 'Job');
  const agents = role('agent').filter(({ obj }) => obj.kind === 'Job');
  for (const { at, obj } of controllers) {
    if (obj.spec.backoffLimit !== 0) problem(at, 'controller Job: backoffLimit must be 0');
    if (podSpecOf(obj).restartPolicy !== 'Never') {
      problem(at, 'controller Job: restartPolicy must be Never');
    }
  }
  for (const { at, obj } of agents) {
    if (obj.spec.completionMode !== 'Indexed') problem(at, 'agent Job: completionMode Indexed');
    if (obj.spec.parallelism !== obj.spec.completions) {
      problem(at, 'agent Job: parallelism must equal completions (all agents at once)');
    }
    const text = argsOf(podSpecOf(obj).containers[0]);
    if (!/--once\b/.test(text)) problem(at, 'agent Job: agents need --once to complete');
    const dial = flag(text, '--controller');
    const [host, port] = (dial || '').split(':');
    const svc = objects.find(({ obj: s }) => s.kind === 'Service' && s.metadata.name === host);
    if (!svc || !(svc.obj.spec.ports || []).some((p) => String(p.port) === port)) {
      problem(at, `agent Job: --controller ${dial} is not a Service port defined here`);
    }
    for (const c of controllers) {
      const expect = Number(flag(argsOf(podSpecOf(c.obj).containers[0]), '--expect-agents'));
      if (expect !== obj.spec.completions) {
        problem(at, `agent Job: completions ${obj.spec.completions} but the controller ` +
                    `expects ${expect} agent(s)`);
      }
    }
  }
  if (objects.length > 0 && controllers.length + agents.length > 0 &&
      (controllers.length !== 1 || agents.length !== 1)) {
    problem('manifests', `expected one controller Job and one agent Job, found ` +
                         `${controllers.length} and ${agents.length}`);
  }
}

function main() {
  const args = process.argv.slice(2);
  const inputs = args.length ? args : [path.join(__dirname, '..', '..', 'docker', 'k8s')];
  const objects = [];
  for (const input of inputs) {
    if (!fs.existsSync(input)) {
      problem(input, 'no such file or directory');
      continue;
    }
    if (fs.statSync(input).isDirectory()) {
      const manifests = fs.readdirSync(input)
          .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
          .sort()
          .map((f) => path.join(input, f));
      manifests.forEach((m) => loadFile(m, objects));
      checkKustomization(input, manifests);
    } else {
      loadFile(input, objects);
    }
  }
  if (problems.length === 0) checkTogether(objects);
  if (problems.length) {
    for (const p of problems) console.error(`validate_k8s: ${p}`);
    process.exit(1);
  }
  console.log(`ok: ${objects.length} objects (${objects.map(({ obj }) =>
      `${obj.kind}/${obj.metadata.name}`).join(', ')})`);
}

main();
