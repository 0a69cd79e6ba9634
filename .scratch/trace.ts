import http from 'node:http';
import { loadKubeconfig } from '../src/client/config.js';
import { KubeClient } from '../src/client/rest.js';
import { R } from '../src/client/resources.js';
const client = new KubeClient({ config: loadKubeconfig(process.env.KUBECONFIG!) });
const ac = new AbortController();
let t0 = 0;
const rel = () => (t0 ? `${(performance.now() - t0).toFixed(1)}ms` : '-');
const watch = (r: any, name: string, fmt: (o: any) => string) =>
  client.watch(r, { namespace: 'default', signal: ac.signal, resourceVersion: '0' } as any, (ev: any) => {
    if (!t0) return;
    console.log(rel(), name, ev.type, fmt(ev.object));
  }).catch(() => {});
watch(R.leases, 'lease', (o) => `renew=${o.spec?.renewTime} zero=${o.metadata?.annotations?.['skiff.dev/scaled-to-zero-at']}`);
watch(R.deployments, 'deploy', (o) => `spec=${o.spec?.replicas} ready=${o.status?.readyReplicas}`);
watch(R.replicasets, 'rs', (o) => `spec=${o.spec?.replicas} ready=${o.status?.readyReplicas}`);
watch(R.pods, 'pod', (o) => `${o.metadata?.name} node=${o.spec?.nodeName} phase=${o.status?.phase} ready=${o.status?.conditions?.find((c: any) => c.type === 'Ready')?.status} del=${!!o.metadata?.deletionTimestamp}`);
watch(R.endpointslices, 'slice', (o) => JSON.stringify(o.endpoints?.map((e: any) => [e.addresses?.[0], e.conditions?.ready])));
await new Promise((r) => setTimeout(r, 1500));
const n = Number(process.argv[2] ?? 1);
for (let i = 0; i < n; i++) {
  t0 = performance.now();
  console.log('request sent');
  await new Promise<void>((resolve) => {
    const req = http.get('http://127.0.0.1:18080/', (res) => {
      res.once('data', () => console.log(rel(), 'FIRST BYTE', res.statusCode));
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', (e) => { console.log('error', e); resolve(); });
  });
  await new Promise((r) => setTimeout(r, 300));
  t0 = 0;
}
ac.abort();
client.close();
process.exit(0);
