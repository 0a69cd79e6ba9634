// What the nginx data plane runs on: the nginx.conf (one server, routing and balancing in Lua, as
// ingress-nginx's template does with balancer_by_lua) and the Lua table of routes and endpoints
// pushed to it over the control socket. Pure text rendering; nginx.ts runs it.
import type { Target } from '../api/endpoint-picker.js';
import type { RouteBackend, RouteServer } from './routes.js';

/** Options of renderNginxConf. */
export interface NginxConfOptions {
  /** Directory of the pid file, temp paths and sockets (0700). */
  dir: string;
  /** "address:port" pairs to serve HTTP on. */
  listen: string[];
  /** Worker processes. */
  workers: number;
  /** Unix socket of the Node holder (requests nginx cannot serve). */
  holderSocket: string;
  /** Unix socket of the control server (configuration, stats). */
  controlSocket: string;
  /** Directory holding skiff_ingress.lua. */
  luaDir: string;
  /** Where the Lua module lives. */
  luaModulesDir: string;
  /** Where the access log goes (default the process's stdout, the pod log); false: none. */
  accessLog: boolean | string;
  /** Run the workers as root (the master runs as root: the default user "nobody" cannot read dir). */
  asRoot: boolean;
  /** Endpoints tried per request before the holder; default 3 (proxy-next-upstream-tries). */
  tries?: number;
  /**
   * GET/HEAD answers with a Content-Length up to this many bytes are read whole before the client
   * sees a byte, so one cut off (the app killed mid-answer) is retried on another endpoint; larger
   * or open-ended ones stream. Default 64 KiB (the Node data path's bound); 0: stream everything.
   */
  wholeAnswerBytes?: number;
}

/** The internal location that fetches a whole answer (a subrequest; clients get a 404 there). */
export const wholeAnswerLocation = '/.skiff-whole-answer';

/** The nginx.conf of the data plane. */
export function renderNginxConf(o: NginxConfOptions): string {
  const listen = o.listen.map((a) => `    listen ${a} backlog=4096;`).join('\n');
  const dir = o.dir;
  const whole = o.wholeAnswerBytes ?? 64 * 1024;
  return `${o.asRoot ? 'user root;\n' : ''}worker_processes ${o.workers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log stderr warn;
load_module ${o.luaModulesDir}/ndk_http_module.so;
load_module ${o.luaModulesDir}/ngx_http_lua_module.so;
events { worker_connections 1024; }
http {
  lua_package_path "${o.luaDir}/?.lua;;";
  lua_shared_dict skiff 2m;
  init_by_lua_block {
    skiff_ingress = require "skiff_ingress"
    skiff_ingress.holder = "unix:${o.holderSocket}"
    skiff_ingress.tries = ${o.tries ?? 3}
    skiff_ingress.wholeMax = ${whole}
    skiff_ingress.wholeUri = "${wholeAnswerLocation}"
  }
  init_worker_by_lua_block { ngx.timer.every(1, skiff_ingress.flush) }
  # ingress-nginx's upstreaminfo format (what the Node data path logs too).
  log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time [$skiff_backend] [] $skiff_log_upstream $req_id';
  # A whole answer's upstream is its subrequest's: the Lua copies it to $skiff_upstream.
  map $skiff_upstream $skiff_log_upstream { "" "$upstream_addr $upstream_status"; default $skiff_upstream; }
  access_log ${o.accessLog === false ? 'off' : `${o.accessLog === true ? '/dev/stdout' : o.accessLog} upstreaminfo buffer=64k flush=200ms`};
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server_tokens off;
  keepalive_timeout 75s;
  keepalive_requests 10000;
  client_max_body_size 1m;
  client_header_buffer_size 4k;
  large_client_header_buffers 4 16k;
  map $http_x_request_id $req_id { default $http_x_request_id; "" $request_id; }
  # ingress-nginx's (with upstream keep-alive on): an Upgrade passes on with "Connection: upgrade"
  # and the 101'd connection streams both ways (idle up to proxy_read_timeout); other requests send
  # no Connection header, so their upstream connection goes back to the keep-alive pool.
  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }
  # What whole() does, decided in C: fetch a GET (1) or HEAD (2) with no body and no Upgrade
  # whole (unless turned off); count an Upgrade (3) as an open connection of its backend.
  map "$request_method:$http_upgrade:$http_content_length:$http_transfer_encoding" $skiff_whole {
    default 0;
${whole > 0 ? '    "GET:::" 1;\n    "HEAD:::" 2;\n' : ''}    "~^[^:]*:[^:]" 3;
  }
  upstream skiff_balancer {
    server 0.0.0.1;
    balancer_by_lua_block { skiff_ingress.balance() }
    keepalive 320;
    keepalive_requests 10000;
    keepalive_timeout 60s;
  }
  server {
${listen}
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $http_host;
    proxy_set_header X-Request-ID $req_id;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-Port $server_port;
    proxy_set_header X-Forwarded-Proto http;
    proxy_set_header X-Forwarded-Scheme http;
    proxy_set_header X-Scheme http;
    # Pods are on this host: a live one answers a SYN at once (or after one 1 s retransmit); a
    # deleted one, still listed until its endpoint's removal arrives, never answers, so a try waits
    # this long before the next endpoint (ingress-nginx's 5 s made chaos requests time out).
    proxy_connect_timeout 2s;
    proxy_read_timeout 60s;
    proxy_send_timeout 60s;
    proxy_next_upstream error timeout;
    # ingress-nginx's default: answers stream to the client as they come. Once nginx has passed an
    # answer's header on, it cannot retry that answer when the rest is cut off (the app killed
    # between its header and body writes), with buffering on too (it flushes the header when it
    # gives up): hence the whole-answer subrequest below for small GET/HEAD answers.
    proxy_buffering off;
    location / {
      # A whole answer is sent from Lua, which would give one without a Content-Type nginx's
      # default (text/plain): none, as when it streams.
      default_type "";
      set $skiff_upstream "";
      # Also counts an upgraded connection as activity of its backend while open (scale to zero).
      set_by_lua $skiff_backend 'return skiff_ingress.route()' $host $request_uri $skiff_whole;
${
  whole > 0
    ? `      # Small GET/HEAD answers: fetched whole, retried elsewhere when cut, then sent (or
      # streamed by proxy_pass below when too big). Other methods, bodies and upgrades stream.
      access_by_lua_block { skiff_ingress.whole() }
`
    : ''
}      log_by_lua_block { skiff_ingress.log() }
      proxy_pass http://skiff_balancer;
    }
${
  whole > 0
    ? `    location = ${wholeAnswerLocation} {
      internal;
      header_filter_by_lua_block { skiff_ingress.wholeHeader() }
      proxy_pass http://skiff_balancer$request_uri;
    }
`
    : ''
}  }
  server {
    listen unix:${o.controlSocket};
    access_log off;
    location = /configuration {
      client_body_buffer_size 4m;
      client_max_body_size 4m;
      content_by_lua_block { skiff_ingress.configure() }
    }
    location = /stats { content_by_lua_block { skiff_ingress.stats() } }
  }
}
`;
}

/** ingress-nginx's upstream name of a backend: namespace-service-port. */
export function upstreamName(b: RouteBackend): string {
  return `${b.namespace}-${b.service}-${b.port.number ?? b.port.name ?? ''}`;
}

/** A Lua string literal: printable ASCII as is, everything else as decimal byte escapes. */
export function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte < 32 || byte > 126 || byte === 34 || byte === 92) out += `\\${byte}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** The route servers of a RouteTable and the ready endpoints of each backend (by upstream name). */
export interface DataPlaneConfig {
  exact: Map<string, RouteServer>;
  wildcard: Map<string, RouteServer>;
  catchAll: RouteServer;
  backends: Map<string, readonly Target[]>;
}

const pathTypeCode = { Exact: 'E', Prefix: 'P', ImplementationSpecific: 'I' } as const;

function luaServer(s: RouteServer): string {
  const locs = s.locations.map((l) => {
    // Prefix paths match element-wise without their trailing slashes (routes.ts prefixMatches).
    const path = l.pathType === 'Prefix' ? l.path.replace(/\/+$/, '') : l.path;
    return `{${luaString(path)},"${pathTypeCode[l.pathType]}",${luaString(upstreamName(l.backend))}}`;
  });
  const def = s.defaultBackend ? `,def=${luaString(upstreamName(s.defaultBackend))}` : '';
  return `{locs={${locs.join(',')}}${def}}`;
}

/** The Lua chunk the control socket takes: `return { exact=…, wild=…, any=…, backends=… }`. */
export function renderLuaConfig(c: DataPlaneConfig): string {
  const servers = (m: Map<string, RouteServer>) =>
    [...m].map(([host, s]) => `[${luaString(host)}]=${luaServer(s)}`).join(',');
  const backends = [...c.backends]
    .map(([name, eps]) => {
      // The third field is the endpoint's "ip:port" key, made once here rather than per request.
      const list = eps
        .map((e) => `{${luaString(e.ip)},${e.port},${luaString(`${e.ip}:${e.port}`)}}`)
        .join(',');
      return `[${luaString(name)}]={${list}}`;
    })
    .join(',');
  return `return {exact={${servers(c.exact)}},wild={${servers(c.wildcard)}},any=${luaServer(c.catchAll)},backends={${backends}}}`;
}
