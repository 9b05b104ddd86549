#!/usr/bin/python3
"""A WebSocket client for t/310-signaling-ws.t (Debian's python3-websockets).

Connects to URL, sends text and binary messages of 1 byte to 64 KiB (the
frame length boundaries 125/126 and 65535/65536 included, and every byte
value), and checks that each echo comes back byte for byte.  With
--quiet S it first exchanges one message, stays silent S seconds (no
pings either way), then sends the rest ("quiet" counts the sessions that
got that far).  --sessions N runs N connections
at once.  Prints one JSON object: {"ok": true|false, "sessions": N,
"messages": echoed, "expected": N * per session, "quiet": n,
"errors": [...]}.  Every step has a timeout.

Usage: ws_client.py --url ws://127.0.0.1:PORT/ws/x [--quiet S]
                    [--sessions N] [--header 'Name: value']...
"""

import argparse
import asyncio
import json
import os
import sys

import websockets

SIZES = [1, 2, 125, 126, 127, 128, 255, 256, 1000, 4096, 16384,
         65535, 65536]


def messages():
    every = bytes(range(256))
    out = [every, every * 256]              # all byte values; 64 KiB
    for n in SIZES:
        out.append(os.urandom(n))
        text = ''.join(chr(0x20 + (i * 7) % 95) for i in range(n))
        out.append(text)
    out.append('\u00e9\u4e2d\U0001f600 utf-8')
    return out


async def session(args, n, result):
    step = 10
    try:
        async with websockets.connect(
                args.url, open_timeout=step, close_timeout=step,
                ping_interval=None, max_size=2 ** 20,
                extra_headers=args.headers) as ws:
            if args.quiet:
                await ws.send('before the quiet')
                got = await asyncio.wait_for(ws.recv(), step)
                if got != 'before the quiet':
                    raise RuntimeError('bad echo before the quiet')
                result['quiet'] += 1
                await asyncio.sleep(args.quiet)
            for i, msg in enumerate(messages()):
                await asyncio.wait_for(ws.send(msg), step)
                got = await asyncio.wait_for(ws.recv(), step)
                if type(got) is not type(msg) or got != msg:
                    raise RuntimeError(
                        'message %d (%s, %d): echo differs (%s, %d)'
                        % (i, type(msg).__name__, len(msg),
                           type(got).__name__, len(got)))
                result['messages'] += 1
    except Exception as e:      # any failure is a result, printed
        result['errors'].append('session %d: %s: %s'
                                % (n, type(e).__name__, e))


async def run(args):
    result = {'ok': False, 'sessions': args.sessions, 'messages': 0,
              'expected': args.sessions * len(messages()), 'quiet': 0,
              'errors': []}
    await asyncio.gather(*(session(args, n, result)
                           for n in range(args.sessions)))
    result['ok'] = not result['errors']
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--quiet', type=float, default=0)
    ap.add_argument('--sessions', type=int, default=1)
    ap.add_argument('--header', action='append', default=[])
    args = ap.parse_args()
    args.headers = [tuple(s.strip() for s in h.split(':', 1))
                    for h in args.header]
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
