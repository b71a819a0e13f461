// Checks rendered manifests (kubectl kustomize output) offline:
//  1. every object against its Kubernetes / Prometheus-operator JSON schema (kubernetes-models,
//     @kubernetes-models/prometheus-operator: required fields, types, enums, int-or-string);
//  2. the pod rules of the "restricted" Pod Security Standard, resources and probes, which the
//     schemas cannot express (kubernetes-models does not reject unknown fields either, so the
//     security-relevant fields are asserted by value here);
//  3. that the objects fit together: Service -> pods, ServiceMonitor -> Service port, probes ->
//     the gRPC port and a health service ppsimd registers, the config file -> ports and volumes,
//     the soak Job -> the Service.
// usage: node validate.mjs base|soak RENDERED.yaml GRPC_SERVICES   (comma-separated names)
//        node validate.mjs self-test RENDERED.yaml GRPC_SERVICES   (each known mistake is caught)
import fs from 'node:fs';
import yaml from 'js-yaml';

const [mode, file, servicesArg] = process.argv.slice(2);
if (!['base', 'soak', 'self-test'].includes(mode) || !file || !servicesArg) {
  console.error('usage: node validate.mjs base|soak|self-test RENDERED.yaml GRPC_SERVICES');
  process.exit(64);
}
const grpcServices = servicesArg.split(',');

// The command the soak Job must run (issue 6), after the binary.
const SOAK_ARGS = ['soak', '--target', 'ppsimd:50051', '--seed', '42', '--duration', '10m',
  '--workers', '4', '--strategy', 'dma-tracking', '--report-json', '/reports/soak.json',
  '--junit', '/reports/soak.xml'];

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const mod = group === 'monitoring.coreos.com'
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
    : `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
  const m = await import(mod);
  if (!m[kind]) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return m[kind];
}

function find(docs, kind, pred = () => true) { return docs.filter((d) => d.kind === kind && pred(d)); }
function one(docs, kind, name, errs) {
  const found = find(docs, kind, (d) => d.metadata.name === name);
  if (found.length !== 1) errs.push(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}
function matches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}

function checkPod(where, spec, errs, { wantProbes }) {
  const psc = spec.securityContext || {};
  if (psc.runAsNonRoot !== true) errs.push(`${where}: securityContext.runAsNonRoot must be true`);
  if (!Number.isInteger(psc.runAsUser) || psc.runAsUser <= 0) {
    errs.push(`${where}: securityContext.runAsUser must be a numeric non-root UID, got ${psc.runAsUser}`);
  }
  if (psc.seccompProfile?.type !== 'RuntimeDefault') errs.push(`${where}: seccompProfile.type must be RuntimeDefault`);
  if (spec.automountServiceAccountToken !== false) errs.push(`${where}: automountServiceAccountToken must be false`);
  const volumes = new Map((spec.volumes || []).map((v) => [v.name, v]));
  for (const c of [...(spec.initContainers || []), ...spec.containers]) {
    const w = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.allowPrivilegeEscalation !== false) errs.push(`${w}: allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) errs.push(`${w}: readOnlyRootFilesystem must be true`);
    if (!(sc.capabilities?.drop || []).includes('ALL')) errs.push(`${w}: capabilities.drop must include ALL`);
    if (sc.privileged) errs.push(`${w}: must not be privileged`);
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) {
        if (!c.resources?.[kind]?.[r]) errs.push(`${w}: resources.${kind}.${r} missing`);
      }
    }
    if (!/^ppsim:[\w.-]+$/.test(c.image || '')) errs.push(`${w}: image ${c.image} is not a tagged ppsim image`);
    for (const m of c.volumeMounts || []) {
      const v = volumes.get(m.name);
      if (!v) errs.push(`${w}: volumeMount ${m.name} has no volume`);
    }
    if (wantProbes) {
      const grpcPort = (c.ports || []).find((p) => p.name === 'grpc')?.containerPort;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const g = c[probe]?.grpc;
        if (!g) { errs.push(`${w}: ${probe} must be a native grpc probe`); continue; }
        if (g.port !== grpcPort) errs.push(`${w}: ${probe}.grpc.port ${g.port} is not the grpc containerPort ${grpcPort}`);
        const svc = g.service ?? '';
        if (svc !== '' && !grpcServices.includes(svc)) {
          errs.push(`${w}: ${probe}.grpc.service "${svc}" is not a service ppsimd registers (${grpcServices.join(', ')})`);
        }
      }
      if (c.livenessProbe?.grpc?.service) errs.push(`${w}: livenessProbe should check the whole server (service "")`);
    }
  }
}

// Returns the list of problems in `docs` (empty = good).
async function check(docs, which) {
  const errs = [];
  for (const d of docs) {
    try {
      const M = await modelFor(d.apiVersion, d.kind);
      new M(d).validate();
    } catch (e) {
      errs.push(`${d.kind}/${d.metadata?.name}: ${e.message}`);
    }
  }
  if (errs.length) return errs;  // the checks below assume the schemas' shapes
  const dep = one(docs, 'Deployment', 'ppsimd', errs);
  const svc = one(docs, 'Service', 'ppsimd', errs);
  const sm = one(docs, 'ServiceMonitor', 'ppsimd', errs);
  one(docs, 'PrometheusRule', 'ppsim', errs);
  const dash = one(docs, 'ConfigMap', 'ppsim-grafana-dashboard', errs);
  if (!dep || !svc || !sm || !dash) return errs;

  const pod = dep.spec.template;
  if (dep.spec.replicas !== 1) errs.push('Deployment/ppsimd: one replica (the labs live in one process)');
  checkPod('Deployment/ppsimd', pod.spec, errs, { wantProbes: true });
  const c = pod.spec.containers.find((x) => x.name === 'ppsimd');
  if (!matches(svc.spec.selector, pod.metadata.labels)) errs.push('Service/ppsimd selects no ppsimd pod');
  if (!matches(dep.spec.selector.matchLabels, pod.metadata.labels)) errs.push('Deployment selector does not match its pods');
  const cports = new Map((c.ports || []).map((p) => [p.name, p.containerPort]));
  for (const p of svc.spec.ports) {
    if (!cports.has(p.targetPort)) errs.push(`Service/ppsimd port ${p.name}: targetPort ${p.targetPort} is no container port`);
  }
  if (!matches(sm.spec.selector.matchLabels, svc.metadata.labels)) errs.push('ServiceMonitor/ppsimd selects no Service');
  for (const e of sm.spec.endpoints) {
    if (!svc.spec.ports.some((p) => p.name === e.port)) errs.push(`ServiceMonitor endpoint port ${e.port} is not a Service port`);
  }
  if (sm.metadata.namespace !== svc.metadata.namespace) errs.push('ServiceMonitor and Service in different namespaces');

  // ppsimd's config file: the ConfigMap mounted where --config points, listening on the ports
  // the container declares, with the data dir on the data volume.
  const cfgArg = (c.args || []).find((a) => a.startsWith('--config='));
  const cfgPath = cfgArg?.slice('--config='.length);
  const cfgMount = (c.volumeMounts || []).find((m) => cfgPath?.startsWith(`${m.mountPath}/`));
  const cfgVol = pod.spec.volumes.find((v) => v.name === cfgMount?.name);
  const cm = cfgVol?.configMap && find(docs, 'ConfigMap', (d) => d.metadata.name === cfgVol.configMap.name)[0];
  const cfgText = cm?.data?.[cfgPath.slice(cfgMount.mountPath.length + 1)];
  if (!cfgText) {
    errs.push(`Deployment/ppsimd: ${cfgArg} is not a file of a mounted ConfigMap`);
  } else {
    const cfg = yaml.load(cfgText);
    const port = (hp) => Number(String(hp).split(':').pop());
    if (port(cfg.listen) !== cports.get('grpc')) errs.push(`config listen ${cfg.listen} != grpc port ${cports.get('grpc')}`);
    if (port(cfg['metrics-listen']) !== cports.get('metrics')) errs.push(`config metrics-listen ${cfg['metrics-listen']} != metrics port`);
    if (!String(cfg.listen).startsWith('0.0.0.0:')) errs.push('config listen must be on all addresses in a pod');
    const data = (c.volumeMounts || []).find((m) => m.mountPath === cfg['data-dir']);
    const dv = pod.spec.volumes.find((v) => v.name === data?.name);
    if (!dv || !(dv.persistentVolumeClaim || dv.emptyDir)) errs.push(`config data-dir ${cfg['data-dir']} is not on a PVC or emptyDir volume`);
    if (dv?.persistentVolumeClaim && find(docs, 'PersistentVolumeClaim', (d) => d.metadata.name === dv.persistentVolumeClaim.claimName).length !== 1) {
      errs.push(`data volume claims ${dv.persistentVolumeClaim.claimName}, which is not rendered`);
    }
    fs.writeFileSync(process.env.PPSIMD_CONFIG_OUT || '/dev/null', cfgText);
  }

  if (dash.metadata.labels?.grafana_dashboard !== '1') errs.push('dashboard ConfigMap lacks grafana_dashboard: "1"');
  try {
    const j = JSON.parse(Object.values(dash.data)[0]);
    if (!Array.isArray(j.panels) || j.panels.length === 0) errs.push('dashboard has no panels');
  } catch (e) { errs.push(`dashboard ConfigMap: ${e.message}`); }

  if (which === 'soak') {
    const job = one(docs, 'Job', 'ppsim-soak', errs);
    const ns = one(docs, 'Namespace', 'ppsim-soak', errs);
    if (ns && ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') errs.push('Namespace ppsim-soak must enforce restricted');
    for (const d of docs) {
      if (d.kind !== 'Namespace' && d.metadata.namespace !== 'ppsim-soak') errs.push(`${d.kind}/${d.metadata.name} not in namespace ppsim-soak`);
    }
    if (job) {
      const spec = job.spec.template.spec;
      checkPod('Job/ppsim-soak', spec, errs, { wantProbes: false });
      if (job.spec.backoffLimit !== 0) errs.push('Job: backoffLimit must be 0 (a failed soak is a result)');
      if (!(job.spec.activeDeadlineSeconds > 600)) errs.push('Job: activeDeadlineSeconds must exceed the 10m soak');
      if (spec.restartPolicy !== 'Never') errs.push('Job: restartPolicy must be Never');
      const soak = spec.containers.find((x) => x.name === 'soak');
      const cmd = [...(soak.command || []), ...(soak.args || [])];
      if (JSON.stringify(cmd) !== JSON.stringify(['/usr/local/bin/ppctl', ...SOAK_ARGS])) {
        errs.push(`Job: soak command is ${JSON.stringify(cmd)}, want ppctl ${SOAK_ARGS.join(' ')}`);
      }
      const grpcPort = svc.spec.ports.find((p) => p.name === 'grpc')?.port;
      if (`${svc.metadata.name}:${grpcPort}` !== 'ppsimd:50051') errs.push(`Job targets ppsimd:50051 but the Service is ${svc.metadata.name}:${grpcPort}`);
      if (job.metadata.namespace !== svc.metadata.namespace) errs.push('Job and Service in different namespaces: the short name does not resolve');
      if (matches(svc.spec.selector, job.spec.template.metadata.labels)) errs.push('the Service would select the soak pod');
      for (const report of ['/reports/soak.json', '/reports/soak.xml']) {
        const m = (soak.volumeMounts || []).find((x) => report.startsWith(`${x.mountPath}/`));
        const v = spec.volumes.find((x) => x.name === m?.name);
        if (!v || !(v.persistentVolumeClaim || v.emptyDir)) errs.push(`Job: ${report} is not on a PVC or emptyDir volume`);
        if (v?.persistentVolumeClaim && find(docs, 'PersistentVolumeClaim', (d) => d.metadata.name === v.persistentVolumeClaim.claimName).length !== 1) {
          errs.push(`Job: reports claim ${v.persistentVolumeClaim.claimName} is not rendered`);
        }
      }
    }
  }
  return errs;
}

const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter(Boolean);
if (mode !== 'self-test') {
  const errs = await check(docs, mode);
  for (const d of docs) console.log(`${errs.length ? '    ' : 'ok  '}${d.kind}/${d.metadata.name}`);
  for (const e of errs) console.log(`FAIL ${e}`);
  console.log(errs.length ? `${mode}: ${errs.length} problem(s)` : `${mode}: ${docs.length} objects valid`);
  process.exit(errs.length ? 1 : 0);
}

// self-test: the rendered soak overlay is clean, and each mistake below is reported.
const clean = await check(docs, 'soak');
if (clean.length) { console.log(`FAIL self-test: the input is not clean:\n${clean.join('\n')}`); process.exit(1); }
const dep = (ds) => ds.find((d) => d.kind === 'Deployment');
const ctr = (ds) => dep(ds).spec.template.spec.containers[0];
const jobC = (ds) => ds.find((d) => d.kind === 'Job').spec.template.spec.containers[0];
const mutations = {
  'replicas as a string (schema)': (ds) => { dep(ds).spec.replicas = 'one'; },
  'grpc probe without port (schema)': (ds) => { delete ctr(ds).livenessProbe.grpc.port; },
  'probe port as a name (schema: grpc.port is an int32)': (ds) => { ctr(ds).readinessProbe.grpc.port = 'grpc'; },
  'ServiceMonitor endpoints not a list (schema)': (ds) => { ds.find((d) => d.kind === 'ServiceMonitor').spec.endpoints = { port: 'metrics' }; },
  'PrometheusRule rule without expr (schema)': (ds) => { delete ds.find((d) => d.kind === 'PrometheusRule').spec.groups[0].rules[0].expr; },
  'Job without template (schema)': (ds) => { delete ds.find((d) => d.kind === 'Job').spec.template; },
  'runAsNonRoot off': (ds) => { dep(ds).spec.template.spec.securityContext.runAsNonRoot = false; },
  'root UID': (ds) => { dep(ds).spec.template.spec.securityContext.runAsUser = 0; },
  'writable root filesystem': (ds) => { delete ctr(ds).securityContext.readOnlyRootFilesystem; },
  'capabilities kept': (ds) => { ctr(ds).securityContext.capabilities.drop = []; },
  'no memory limit': (ds) => { delete ctr(ds).resources.limits.memory; },
  'exec probe instead of grpc': (ds) => { ctr(ds).livenessProbe = { exec: { command: ['true'] } }; },
  'probe on the metrics port': (ds) => { ctr(ds).readinessProbe.grpc.port = 9464; },
  'probe for an unknown health service': (ds) => { ctr(ds).readinessProbe.grpc.service = 'ppsim.v1.Nope'; },
  'Service selects nothing': (ds) => { ds.find((d) => d.kind === 'Service').spec.selector = { app: 'x' }; },
  'ServiceMonitor on a missing port': (ds) => { ds.find((d) => d.kind === 'ServiceMonitor').spec.endpoints[0].port = 'http'; },
  'config mounted elsewhere': (ds) => { ctr(ds).args = ['--config=/etc/other/ppsimd.yaml']; },
  'soak seed changed': (ds) => { jobC(ds).args[4] = '43'; },
  'soak reports on the root filesystem': (ds) => { jobC(ds).volumeMounts = jobC(ds).volumeMounts.filter((m) => m.mountPath !== '/reports'); },
  'dashboard not labelled for the sidecar': (ds) => { delete ds.find((d) => d.metadata.name === 'ppsim-grafana-dashboard').metadata.labels.grafana_dashboard; },
};
let missed = 0;
for (const [name, mutate] of Object.entries(mutations)) {
  const copy = structuredClone(docs);
  mutate(copy);
  const errs = await check(copy, 'soak');
  console.log(`${errs.length ? 'caught' : 'MISSED'}  ${name}${errs.length ? `: ${errs[0]}` : ''}`);
  if (!errs.length) missed++;
}
console.log(missed ? `self-test: ${missed} mistake(s) not caught` : `self-test: all ${Object.keys(mutations).length} mistakes caught`);
process.exit(missed ? 1 : 0);
