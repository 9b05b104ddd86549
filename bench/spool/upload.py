#!/usr/bin/python3
"""Steady log uploads for bench/spool/run.sh: RATE POSTs a second, each of
SIZE bytes on its own connection, to http://ADDR:PORT/PATH, for SECS
seconds; prints "uploads=N ok=N spooled=N other=N late=N" (late: a
request started more than 100 ms after its slot, so the rate was not
kept).

Usage: upload.py ADDR PORT PATH RATE SIZE SECS
"""

import asyncio
import sys
import time


async def one(addr, port, req, stats):
    try:
        r, w = await asyncio.open_connection(addr, port)
        w.write(req)
        await w.drain()
        head = await asyncio.wait_for(r.readuntil(b'\r\n\r\n'), 30)
        w.close()
        if head.startswith(b'HTTP/1.1 200'):
            stats['ok'] += 1
            if b'X-Trtc-Spooled: 1' in head:
                stats['spooled'] += 1
        else:
            stats['other'] += 1
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        stats['other'] += 1


async def main():
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rate, size, secs = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    body = b'x' * size
    req = (b'POST %s HTTP/1.1\r\nHost: bench.test\r\nContent-Length: %d\r\n'
           b'Connection: close\r\n\r\n' % (path.encode(), size)) + body
    stats = {'ok': 0, 'spooled': 0, 'other': 0, 'late': 0}
    tasks = []
    start = time.monotonic()
    n = int(rate * secs)
    for i in range(n):
        slot = start + i / rate
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.1:
            stats['late'] += 1
        tasks.append(asyncio.ensure_future(one(addr, port, req, stats)))
    await asyncio.gather(*tasks)
    print('uploads=%d ok=%d spooled=%d other=%d late=%d'
          % (n, stats['ok'], stats['spooled'], stats['other'],
             stats['late']))


asyncio.run(main())
