// Valid object bodies the bad-input and fuzz suites start from and mutate.

const ns = 'default';

/** A valid Deployment body. */
export const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'hello-world-flask:latest',
            ports: [{ containerPort: 5000 }],
            resources: { requests: { cpu: '100m', memory: '100Mi' } },
          },
        ],
      },
    },
  },
});

/** A valid Service body. */
export const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port: 5000, targetPort: 5000, protocol: 'TCP' }] },
});
