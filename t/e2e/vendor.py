#!/usr/bin/python3
"""The e2e harness's small servers (t/e2e/README.md), each run in a network
namespace by TrtcTest::E2E.  Debian's python3-websockets and the standard
library; every one exits by itself after --lifetime seconds and writes
"ready PID" to --ready (a temporary file renamed) once it listens.

  signal     TRTC's signaling stand-in: a TLS WebSocket server relaying
             every message between the two members of a room (the path);
             each connection first gets {"type":"hello","node":NAME}.  Like
             a CDN-fronted service it refuses a TLS handshake without the
             SNI name --sni (--any-sni: without SNI too).  One JSON line
             per connection to --record.
  logsink    TRTC's log service stand-in: HTTPS, records every POST (path,
             body, origin, status) as a JSON line to --record and answers
             it with CORS headers, 200 or the status in --control (read
             for each upload); refuses a handshake without the SNI --sni.
  collector  plain HTTP on 127.0.0.1 inside a namespace: serves the pages
             of --dir and writes POST /result/NAME to --dir/NAME.json.

Usage: vendor.py signal|logsink|collector --host H --port N [--cert F
       --key F --sni NAME --name NODE --record F] --dir D --ready F
"""

import argparse
import asyncio
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time


def ready(path):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('ready %d\n' % os.getpid())
    os.replace(tmp, path)


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def sni(sslobj, name, _ctx):
        # a real front end picks the service by SNI: none, no service
        if (name != args.sni and not (name or '').endswith('.' + args.sni)
                and not (args.any_sni and name is None)):
            with open(args.record + '.refused', 'a') as f:
                f.write(json.dumps({'time': time.time(), 'sni': name}) + '\n')
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        sslobj.trtc_sni = name
        return None

    ctx.sni_callback = sni
    return ctx


def append(path, rec, lock=threading.Lock()):
    with lock, open(path, 'a') as f:
        f.write(json.dumps(rec) + '\n')


def signal(args):
    import websockets

    rooms = {}

    async def member(ws, path):
        room = rooms.setdefault(path, [])
        rec = {'time': time.time(), 'node': args.name, 'path': path,
               'peer': ws.remote_address[0],
               'xff': ws.request_headers.get('X-Forwarded-For'),
               'host': ws.request_headers.get('Host'),
               'sni': getattr(ws.transport.get_extra_info('ssl_object'),
                              'trtc_sni', None),
               'members': len(room) + 1}
        append(args.record, rec)
        if len(room) >= 2:
            await ws.close(4000, 'room full')
            return
        room.append(ws)
        try:
            await ws.send(json.dumps({'type': 'hello', 'node': args.name}))
            async for msg in ws:
                for other in list(room):
                    if other is not ws:
                        await other.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            room.remove(ws)
            if not room:
                rooms.pop(path, None)

    async def serve():
        async with websockets.serve(member, args.host, args.port,
                                    ssl=tls_context(args),
                                    ping_interval=None):
            ready(args.ready)
            await asyncio.sleep(args.lifetime)

    asyncio.run(serve())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def http_server(args, handler, tls):
    srv = Server((args.host, args.port), handler)
    if tls:
        srv.socket = tls_context(args).wrap_socket(
            srv.socket, server_side=True, do_handshake_on_connect=False)
    t = threading.Timer(args.lifetime, lambda: os._exit(3))
    t.daemon = True
    t.start()
    ready(args.ready)
    srv.serve_forever()


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = 10

    def log_message(self, *a):
        pass

    def answer(self, status, body=b'', ctype='text/plain', extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''


def logsink(args):
    class Handler(Base):
        def cors(self):
            o = self.headers.get('Origin')
            return [('Access-Control-Allow-Origin', o)] if o else []

        def do_OPTIONS(self):
            self.answer(204, extra=self.cors() + [
                ('Access-Control-Allow-Methods', 'POST'),
                ('Access-Control-Allow-Headers', 'Content-Type')])

        def do_POST(self):
            body = self.body()
            try:
                with open(args.control) as f:
                    status = int(f.read().split()[0])
            except (OSError, TypeError, ValueError, IndexError):
                status = 200
            append(args.record, {
                'time': time.time(), 'path': self.path, 'status': status,
                'origin': self.headers.get('Origin'),
                'xff': self.headers.get('X-Forwarded-For'),
                'body': body.decode('utf-8', 'replace')})
            self.answer(status, b'{"ok":1}', 'application/json',
                        self.cors())

        do_GET = do_OPTIONS

    http_server(args, Handler, True)


def collector(args):
    class Handler(Base):
        def do_GET(self):
            name = os.path.basename(self.path.split('?')[0])
            try:
                with open(os.path.join(args.dir, name), 'rb') as f:
                    page = f.read()
            except OSError:
                return self.answer(404, b'no such page\n')
            self.answer(200, page, 'text/html; charset=utf-8')

        def do_POST(self):
            name = os.path.basename(self.path)
            body = self.body()
            tmp = os.path.join(args.dir, '.' + name + '.tmp')
            with open(tmp, 'wb') as f:
                f.write(body)
            os.replace(tmp, os.path.join(args.dir, name + '.json'))
            self.answer(200, b'ok\n')

    http_server(args, Handler, False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['signal', 'logsink', 'collector'])
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--sni')
    ap.add_argument('--any-sni', action='store_true',
                    help='also take a handshake without SNI')
    ap.add_argument('--name', default='node')
    ap.add_argument('--record')
    ap.add_argument('--control')
    ap.add_argument('--dir')
    ap.add_argument('--ready', required=True)
    ap.add_argument('--lifetime', type=float, default=900)
    args = ap.parse_args()
    {'signal': signal, 'logsink': logsink, 'collector': collector}[
        args.what](args)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        os._exit(0)
