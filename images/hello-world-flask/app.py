# Skiff's bundled stand-in for lyzhang1999/hello-world-flask: the same reply on port 5000, built on
# the Python standard library only, with a per-request CPU cost close to Flask's (so load drives CPU).
import hashlib
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer

TCPServerBind = TCPServer.server_bind

HOSTNAME = os.environ.get('HOSTNAME') or socket.gethostname()
# Flask's routing, request/response objects and Jinja-free text reply cost about 1-2 ms of CPU per
# request on a small machine; a fixed amount of hashing reproduces that without the dependency.
WORK_ROUNDS = int(os.environ.get('SKIFF_WORK_ROUNDS', '300'))
_BLOCK = b'x' * 1024


def burn_cpu():
    h = hashlib.sha256()
    for _ in range(WORK_ROUNDS):
        h.update(_BLOCK)
    return h.digest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'Werkzeug/2.2.2'
    sys_version = 'Python/' + sys.version.split()[0]

    def do_GET(self):
        burn_cpu()
        body = ('Hello, my first docker images! ' + HOSTNAME).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format, *args):
        # Same shape as werkzeug's access log line, flushed per line so `kubectl logs -f` streams.
        sys.stderr.write('%s - - [%s] %s\n' % (self.address_string(), self.log_date_time_string(), format % args))
        sys.stderr.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that stalls start-up
        # for seconds when the cluster DNS is not reachable yet; the name is only cosmetic.
        TCPServerBind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    # In Skiff's reduced mode every pod shares the host network, so bind the pod's own loopback IP.
    host = os.environ.get('POD_IP') if os.environ.get('SKIFF_REDUCED_MODE') else None
    host = host or '0.0.0.0'
    port = int(os.environ.get('SKIFF_APP_PORT', '5000'))
    server = Server((host, port), Handler)
    sys.stderr.write(' * Serving Flask app "app" on http://%s:%d\n' % (host, port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
