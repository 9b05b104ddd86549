#!/usr/bin/python3
"""A TLS WebSocket echo server for t/310-signaling-ws.t (Debian's
python3-websockets, not code of ours).

Echoes every message as it came (text as text, binary as binary).  For
each connection it appends one JSON line to RECORD: the path, the Host
and X-Forwarded-For headers, and the SNI name of the TLS handshake.
Sends no pings, so a quiet session is really quiet.  Prints "ready" once
it listens and exits by itself after --lifetime seconds.

Usage: ws_server.py --port N --cert F --key F --record F [--lifetime S]
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

import websockets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--record', required=True)
    ap.add_argument('--lifetime', type=float, default=300)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def sni(sslobj, name, _ctx):
        sslobj.trtc_sni = name

    ctx.sni_callback = sni

    async def echo(ws, path):
        sslobj = ws.transport.get_extra_info('ssl_object')
        rec = {
            'path': path,
            'host': ws.request_headers.get('Host'),
            'xff': ws.request_headers.get('X-Forwarded-For'),
            'sni': getattr(sslobj, 'trtc_sni', None),
        }
        with open(args.record, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass

    async def serve():
        async with websockets.serve(echo, '127.0.0.1', args.port, ssl=ctx,
                                    ping_interval=None, max_size=2 ** 20):
            print('ready', flush=True)
            await asyncio.sleep(args.lifetime)

    asyncio.run(serve())
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        os._exit(0)
