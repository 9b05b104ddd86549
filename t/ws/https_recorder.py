#!/usr/bin/python3
"""A small HTTPS upstream for t/330-logger-spool.t: records every request.

Each request is appended to RECORD as one JSON line: method, path, version,
headers, the SNI name the client sent, the body (base64) and the status
answered.  The status comes from CONTROL, read for every request:
"200", "500", "400", ... or "hang SECONDS" (answer 200 that much later),
or "early STATUS" (a 103 Early Hints first, then STATUS); no file means
200.  CONTROL may hold several lines, "/PREFIX ACTION": the first line
whose prefix starts the request's path applies, a line without a prefix
to any path.  Exits by itself after --lifetime seconds, so a test
that dies cannot leave it behind.

Once it listens it writes "ready PORT PID" to the --ready file, atomically
(a temporary file renamed).  Not a line on stdout: with PYTHONUNBUFFERED=1
print() makes two write()s, "ready" then the newline; a parent that closed
the pipe after reading the first one killed us with BrokenPipeError on the
second, while it believed we were up.

Usage: https_recorder.py --port N --cert F --key F --record F --ready F
                         [--control F] [--lifetime S]
"""

import argparse
import base64
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--record', required=True)
    ap.add_argument('--ready', required=True)
    ap.add_argument('--control')
    ap.add_argument('--lifetime', type=float, default=300)
    args = ap.parse_args()

    lock = threading.Lock()

    def control(path):
        try:
            with open(args.control) as f:
                lines = [l.split() for l in f.read().splitlines()]
        except (OSError, TypeError):
            return ['200']
        for words in lines:
            if not words:
                continue
            if not words[0].startswith('/'):
                return words
            if path.startswith(words[0]):
                return words[1:]
        return ['200']

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        timeout = 10

        def log_message(self, *a):
            pass

        def handle_any(self):
            n = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(n) if n else b''
            what = control(self.path)
            status = 200
            early = False
            if what[0] == 'hang':
                time.sleep(float(what[1]))
            elif what[0] == 'early':
                early = True
                status = int(what[1])
            else:
                status = int(what[0])
            rec = {
                'time': time.time(),
                'method': self.command,
                'path': self.path,
                'version': self.request_version,
                'headers': [[k, v] for k, v in self.headers.items()],
                'sni': getattr(self.connection, 'trtc_sni', None),
                'body': base64.b64encode(body).decode(),
                'status': status,
            }
            with lock, open(args.record, 'a') as f:
                f.write(json.dumps(rec) + '\n')
                f.flush()
            out = b'recorded\n'
            if early:
                self.wfile.write(b'HTTP/1.1 103 Early Hints\r\n'
                                 b'Link: </app.css>; rel=preload\r\n\r\n')
                self.wfile.flush()
            self.send_response(status)
            self.send_header('Content-Length', str(len(out)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(out)
            self.close_connection = True

        do_GET = do_POST = do_PUT = handle_any

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def sni(sock, name, _ctx):
        sock.trtc_sni = name

    ctx.sni_callback = sni

    srv = Server(('127.0.0.1', args.port), Handler)
    # the handshake runs in the handler's thread, on its first read
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                 do_handshake_on_connect=False)

    timer = threading.Timer(args.lifetime, lambda: os._exit(3))
    timer.daemon = True
    timer.start()

    # the socket listens since Server(): connections queue until
    # serve_forever() accepts them
    tmp = args.ready + '.tmp'
    with open(tmp, 'w') as f:
        f.write('ready %d %d\n' % (args.port, os.getpid()))
    os.replace(tmp, args.ready)
    sys.stderr.write('recorder %d: listening on 127.0.0.1:%d\n'
                     % (os.getpid(), args.port))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
