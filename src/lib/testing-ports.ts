// Free TCP ports for tests and benches that hand a port number to a server they start (Skiff's
// own --*-port flags, a registry's config file). Binding port 0 and closing it picks from the
// kernel's ephemeral range, where an outgoing connection of any process may take the port before
// the server binds it: CI once saw Skiff's ingress port taken that way (the ingress fell back to
// 8080 and the test's requests reached some other server). These ports come from below the
// ephemeral range and outside Kubernetes' NodePort range (30000-32767), and one process never
// gets the same port twice.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const lowest = 20_000;
const nodePortLow = 30_000;
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (32768 when unreadable, Linux's default). */
function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > lowest ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port nobody listens on now, from [20000, min(NodePort range, ephemeral range)). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = Math.min(nodePortLow, ephemeralLow());
  for (let i = 0; i < 500; i++) {
    const port = lowest + Math.floor(Math.random() * (high - lowest));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    // 0.0.0.0 too: a server on the wildcard address also takes the port from loopback.
    if ((await canBind(port, host)) && (await canBind(port, '0.0.0.0'))) return port;
  }
  throw new Error(`no free TCP port in [${lowest}, ${high})`);
}
