// The plain nginx that the ingress benches compare Skiff's data plane with. No Skiff knowledge.

/**
 * The baseline of issue #17: Debian's nginx configured as ingress-nginx would proxy the two pods
 * (keep-alive upstreams, the same X-Forwarded-* headers, an access log), all in `dir`.
 */
export function nginxBaselineConf(dir: string, port: number, pods: number[]): string {
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_timeout 75s;
  keepalive_requests 10000;
  upstream default-hello-world-flask-5000 {
${pods.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
    keepalive 320;
    keepalive_requests 10000;
  }
  server {
    listen 127.0.0.1:${port} default_server reuseport backlog=4096;
    location = / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 5s;
      proxy_read_timeout 60s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
      proxy_pass http://default-hello-world-flask-5000;
    }
  }
}
`;
}
