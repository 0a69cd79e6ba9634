// Stand-in for ingress-nginx's kube-webhook-certgen image (`skiff addon kube-webhook-certgen`), run
// by the two admission Jobs of upstream's deploy.yaml: `create` makes a self-signed serving
// certificate for the admission Service and stores it in a Secret (keys ca, cert, key) unless the
// Secret exists; `patch` writes its CA into the ValidatingWebhookConfiguration's caBundle and sets
// the failure policy. The controller's pod mounts that Secret, so it starts only once `create` ran.
// Skiff's API server stores webhook configurations but calls no webhook, so Ingress writes never
// depend on the webhook answering (Skiff's ingress stand-in does not serve it).
import { findResource } from '../api/resources.js';
import { inClusterConfig } from '../client/config.js';
import { R } from '../client/resources.js';
import { isNotFound, type KObject, KubeClient } from '../client/rest.js';
import { createLogger } from '../lib/log.js';
import { generateSelfSignedCert } from '../metrics/tls.js';

const webhookConfigs = findResource(
  'admissionregistration.k8s.io',
  'v1',
  'validatingwebhookconfigurations',
)!;

/** The subcommand and its `--name=value` flags (unknown flags are ignored, as they change nothing here). */
export function parseCertgenArgs(argv: readonly string[]): {
  command: string;
  flags: Map<string, string>;
} {
  const flags = new Map<string, string>();
  let command = '';
  for (const arg of argv) {
    if (!arg.startsWith('--')) {
      command ||= arg;
      continue;
    }
    const eq = arg.indexOf('=');
    flags.set(eq < 0 ? arg.slice(2) : arg.slice(2, eq), eq < 0 ? 'true' : arg.slice(eq + 1));
  }
  return { command, flags };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Runs `create` or `patch`; throws (exit 1, the Job retries) on failure. */
export async function main(argv: string[]): Promise<void> {
  const log = createLogger({ component: 'kube-webhook-certgen' });
  const { command, flags } = parseCertgenArgs(argv);
  const namespace = flags.get('namespace') ?? process.env['POD_NAMESPACE'] ?? 'default';
  const secretName = flags.get('secret-name') ?? '';
  if (!secretName) throw new TypeError('--secret-name is required');
  const client = new KubeClient({
    config: { ...inClusterConfig(), userAgent: 'kube-webhook-certgen/skiff' },
  });
  try {
    if (command === 'create') {
      const existing = await client.get(R.secrets, namespace, secretName).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (existing) {
        log.info('secret already exists', { name: secretName });
        return;
      }
      const hosts = (flags.get('host') ?? '').split(',').filter(Boolean);
      const cert = await generateSelfSignedCert({
        commonName: hosts[0] ?? 'webhook',
        dnsNames: hosts,
      });
      await client.create(R.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace },
        // Self-signed: the certificate is its own CA.
        data: { ca: b64(cert.cert), cert: b64(cert.cert), key: b64(cert.key) },
      });
      log.info('created secret', { name: secretName });
    } else if (command === 'patch') {
      const secret = await client.get<KObject & { data?: Record<string, string> }>(
        R.secrets,
        namespace,
        secretName,
      );
      const ca = secret.data?.['ca'];
      if (!ca) throw new Error(`secret ${secretName} has no "ca" key`);
      const name = flags.get('webhook-name') ?? '';
      const policy = flags.get('patch-failure-policy');
      if (flags.get('patch-validating') !== 'false') {
        const cfg = await client.get<KObject & { webhooks?: Record<string, unknown>[] }>(
          webhookConfigs,
          undefined,
          name,
        );
        for (const w of cfg.webhooks ?? []) {
          w['clientConfig'] = { ...(w['clientConfig'] as object), caBundle: ca };
          if (policy) w['failurePolicy'] = policy;
        }
        await client.update(webhookConfigs, cfg);
        log.info('patched the validating webhook configuration', { name });
      }
    } else {
      throw new TypeError(`unknown command "${command}" (create or patch)`);
    }
  } finally {
    client.close();
  }
}
