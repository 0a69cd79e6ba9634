// Skiff's bundled Node twin of hello-world-flask (image skiff/hello-node): same reply, same port,
// a similar per-request CPU cost.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const name = process.env.HOSTNAME || hostname();
const rounds = Number(process.env.SKIFF_WORK_ROUNDS || 300);
const block = Buffer.alloc(1024, 'x');
const host = (process.env.SKIFF_REDUCED_MODE && process.env.POD_IP) || '0.0.0.0';
const port = Number(process.env.SKIFF_APP_PORT || 5000);

const server = createServer((req, res) => {
  const h = createHash('sha256');
  for (let i = 0; i < rounds; i++) h.update(block);
  h.digest();
  const body = `Hello, my first docker images! ${name}`;
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  process.stderr.write(
    `${req.socket.remoteAddress} - - [${new Date().toISOString()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" 200 -\n`,
  );
});
server.listen(port, host, () => process.stderr.write(` * Serving on http://${host}:${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
