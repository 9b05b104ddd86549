#!/usr/bin/python3
"""A plain HTTP log service for t/350-logger-spool-soak.t that flaps.

It listens for --up seconds, then closes its listening socket for --down
seconds (connections are refused), over and over, until the --steady file
exists: from then on it stays up.  Every request's body decides the
answer: a body holding "FAIL500" gets 500, one holding "EARLY500" gets
"103 Early Hints" and then 500, any other 200.  Each 200 appends a line
"MARKER UPLOAD-ID" to --record, MARKER being the body's first line.  Exits
by itself after --lifetime seconds.

Usage: flapping_upstream.py --port N --record F --steady F --ready F
                            [--up S] [--down S] [--lifetime S]
"""

import argparse
import asyncio
import os
import sys

EARLY = (b'HTTP/1.1 103 Early Hints\r\n'
         b'Link: </app.css>; rel=preload\r\n\r\n')


def answer(status, reason):
    return ('HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
            % (status, reason)).encode()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--record', required=True)
    ap.add_argument('--steady', required=True)
    ap.add_argument('--ready', required=True)
    ap.add_argument('--up', type=float, default=2)
    ap.add_argument('--down', type=float, default=2)
    ap.add_argument('--lifetime', type=float, default=300)
    args = ap.parse_args()

    record = open(args.record, 'ab', buffering=0)

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b'\r\n\r\n')
            length = 0
            uid = b'-'
            for line in head.split(b'\r\n'):
                k, _, v = line.partition(b':')
                if k.strip().lower() == b'content-length':
                    length = int(v)
                elif k.strip().lower() == b'x-trtc-upload-id':
                    uid = v.strip()
            body = await reader.readexactly(length) if length else b''
            if b'FAIL500' in body:
                writer.write(answer(500, 'Internal Server Error'))
            elif b'EARLY500' in body:
                writer.write(EARLY)
                await writer.drain()
                writer.write(answer(500, 'Internal Server Error'))
            else:
                record.write(body.split(b'\n', 1)[0] + b' ' + uid + b'\n')
                writer.write(answer(200, 'OK'))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    loop = asyncio.get_running_loop()
    loop.call_later(args.lifetime, lambda: os._exit(3))

    first = True
    while True:
        server = await asyncio.start_server(handle, '127.0.0.1', args.port,
                                            reuse_address=True, backlog=512)
        if first:
            tmp = args.ready + '.tmp'
            with open(tmp, 'w') as f:
                f.write('ready %d %d\n' % (args.port, os.getpid()))
            os.replace(tmp, args.ready)
            first = False
        await asyncio.sleep(args.up)
        while os.path.exists(args.steady):
            await asyncio.sleep(0.2)
        server.close()
        await asyncio.sleep(args.down)


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
