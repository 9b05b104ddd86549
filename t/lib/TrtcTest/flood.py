#!/usr/bin/env python3
"""Bounded floods for the hardening tests (t/150-turnd-hardening.t) and
the reflection figures in README.  Loopback only; every loop is bounded
in count and time.

  flood.py udp PORT SOURCES ROUNDS SECONDS [BARE]
      Unauthenticated Allocates (REQUESTED-TRANSPORT UDP, 28 bytes; with
      BARE 1 no attribute, 20 bytes) from
      SOURCES spoofed loopback addresses 127.20.X.Y (250 a /24), each
      sending ROUNDS requests spread over SECONDS, through one socket
      (IP_PKTINFO picks the source address).  Prints one JSON line:
      sent, answered, bytes_in, bytes_out (as the server saw them),
      prefixes, seconds.

  flood.py tcp PORT COUNT SECONDS
      COUNT idle TCP connections from 127.0.0.1, reopened (at most
      1,000 a second) when the server closes them, for SECONDS.  Prints
      opened, refused (the server closed it), held (still open a second
      after the last reopening).
"""

import json
import os
import resource
import select
import socket
import struct
import sys
import time

IP_PKTINFO = 8


def allocate(tid, bare=False):
    # REQUESTED-TRANSPORT: UDP, as a browser's first Allocate has it
    attr = struct.pack('!HH4s', 0x0019, 4, b'\x11\x00\x00\x00')
    if bare:
        attr = b''      # the smallest: a 20-byte header
    return struct.pack('!HHI12s', 0x0003, len(attr), 0x2112A442, tid) + attr


def source(i):
    return '127.20.%d.%d' % (i // 250, 1 + i % 250)


def udp(port, sources, rounds, seconds, bare=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('0.0.0.0', 0))
    s.setblocking(False)
    dst = ('127.0.0.1', port)
    sent = answered = bytes_in = bytes_out = 0
    total = sources * rounds
    t0 = time.time()
    deadline = t0 + seconds + 10

    def drain():
        nonlocal answered, bytes_out
        while True:
            try:
                data = s.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                return
            answered += 1
            bytes_out += len(data)

    for n in range(total):
        if time.time() > deadline:
            break
        # paced: request n leaves at n/total of the time
        ahead = t0 + seconds * n / total - time.time()
        if ahead > 0:
            time.sleep(ahead)
        src = source(n % sources)
        msg = allocate(os.urandom(12), bare)
        pkt = struct.pack('i4s4s', 0, socket.inet_aton(src), bytes(4))
        try:
            s.sendmsg([msg], [(socket.IPPROTO_IP, IP_PKTINFO, pkt)], 0, dst)
        except (BlockingIOError, ConnectionRefusedError):
            continue
        sent += 1
        bytes_in += len(msg)
        if n % 64 == 0:
            drain()

    elapsed = time.time() - t0
    end = time.time() + 1
    while time.time() < end:
        select.select([s], [], [], 0.1)
        drain()

    print(json.dumps({'sent': sent, 'answered': answered,
                      'bytes_in': bytes_in, 'bytes_out': bytes_out,
                      'prefixes': (sources + 249) // 250,
                      'seconds': round(elapsed, 3)}))


def tcp(port, count, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, count + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    conns = {}
    opened = refused = 0
    deadline = time.time() + seconds
    poller = select.epoll()

    def connect():
        nonlocal opened
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind(('127.0.0.1', 0))
        c.setblocking(False)
        try:
            c.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        except OSError:
            c.close()
            return
        conns[c.fileno()] = c
        poller.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        opened += 1

    while len(conns) < count and time.time() < deadline:
        connect()

    # reopen what the server closes, at most 1,000 a second; then a
    # second without reopening, to see what the server holds
    settle = deadline + 1
    start = time.time()
    reopened = 0
    while time.time() < settle:
        for fd, ev in poller.poll(0.05):
            c = conns.pop(fd, None)
            if c is None:
                continue
            poller.unregister(fd)
            c.close()
            refused += 1
        budget = int((time.time() - start) * 1000) - reopened
        while len(conns) < count and budget > 0 and time.time() < deadline:
            connect()
            budget -= 1
            reopened += 1

    print(json.dumps({'opened': opened, 'refused': refused,
                      'held': len(conns)}))
    sys.stdout.flush()
    for c in conns.values():
        c.close()


if __name__ == '__main__':
    mode = sys.argv[1]
    args = [float(a) if '.' in a else int(a) for a in sys.argv[2:]]
    if mode == 'udp':
        udp(*args)
    elif mode == 'tcp':
        tcp(*args)
    else:
        sys.exit('usage: flood.py udp|tcp ...')
