#!/bin/bash
# `make run`: nginx with the module and turnd on loopback, from conf/ with
# its defaults, in the foreground.  Everything lives under build/run/;
# nothing of the system's nginx or coturn config is read or written.
# Ctrl-C stops both and waits for them.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/run
nginx=${NGINX:-/usr/sbin/nginx}
turnd=$top/build/turnd
module=$top/build/ngx_http_trtc_module.so

for f in "$nginx" "$turnd" "$module"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "run: $f is missing" >&2; exit 1; }
done

rm -rf "$run"
mkdir -p "$run/conf" "$run/logs" "$run/modules" "$run/tmp" "$run/spool"
cp "$top"/conf/nginx.conf "$top"/conf/turnd.conf "$run/conf/"
ln -s "$module" "$run/modules/"
# the stream module for the one-port listener (libnginx-mod-stream)
stream=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
[ -f "$stream" ] || { echo "run: $stream is missing" >&2; exit 1; }
ln -s "$stream" "$run/modules/"

# nginx's workers run as nobody when nginx starts as root: they write the
# spool and re-read the credentials file
worker=$(id -u) group=$(id -g)
if [ "$worker" = 0 ]; then
    worker=nobody group=$(id -gn nobody)
fi
chown "$worker" "$run/spool"

# TRTC's hosts when this machine can resolve them; otherwise stand-ins that
# refuse connections, so /ws/ answers 502, uploads go to the spool, and the
# status page shows both upstreams down
if getent hosts signaling.rtc.qq.com >/dev/null 2>&1 \
   && getent hosts yun.tim.qq.com >/dev/null 2>&1
then
    signaling="server signaling.rtc.qq.com:443;"
    logger="server yun.tim.qq.com:443;"
    hosts="TRTC's hosts"
else
    signaling="server 127.0.0.1:9;  # signaling.rtc.qq.com: not resolvable"
    logger="server 127.0.0.1:9;  # yun.tim.qq.com: not resolvable"
    hosts="stand-ins (TRTC's hosts are not resolvable here)"
fi
printf 'upstream trtc_signaling {\n    %s\n    %s\n}\n' "$signaling" \
    "trtc_check type=tcp interval=10s timeout=3s;" \
    > "$run/conf/trtc-upstreams.conf"
printf 'upstream trtc_logger {\n    %s\n    %s\n}\n' "$logger" \
    "trtc_check type=tcp interval=10s timeout=3s;" \
    >> "$run/conf/trtc-upstreams.conf"

# A self-signed certificate for localhost, and a credentials file with a
# fresh random secret (only this run knows it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 30 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$run/conf/localhost.key" -out "$run/conf/localhost.crt" \
    2>/dev/null
umask 077
{
    echo "# written by make run"
    echo "realm  trtc"
    echo "secret $(openssl rand -hex 32)"
} > "$run/conf/credentials"
umask 022
chgrp "$group" "$run/conf/credentials"
chmod 640 "$run/conf/credentials"

cd "$run"

"$nginx" -p "$run/" -c conf/nginx.conf -e logs/error.log -t -q

pids=
stop() {
    trap - INT TERM EXIT
    [ -n "$pids" ] || exit 0
    echo
    echo "stopping (pids$pids)"
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do
        alive=
        for p in $pids; do
            kill -0 "$p" 2>/dev/null && alive="$alive $p"
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    [ -n "${alive:-}" ] && kill -KILL $alive 2>/dev/null || true
    wait 2>/dev/null || true
    exit 0
}
trap stop INT TERM EXIT

"$turnd" -c conf/turnd.conf --log-file logs/turnd.log &
pids="$pids $!"

"$nginx" -p "$run/" -c conf/nginx.conf -e logs/error.log -g 'daemon off;' &
pids="$pids $!"

# wait until both answer, or say why not
for _ in $(seq 50); do
    if curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then
        break
    fi
    sleep 0.1
done

for p in $pids; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "run: a process exited at start; logs:" >&2
        tail -n 20 "$run"/logs/*.log >&2 || true
        exit 1
    fi
done

cat <<EOF

ngx_trtc_module and turnd are running on loopback (prefix $run):

  nginx   http://127.0.0.1:8080/      https://127.0.0.1:8443/ (self-signed)
          127.0.0.1:8444: one port for HTTPS, turns: and turn:?transport=tcp
          /trtc/proxy        the SDK's proxy object, fresh TURN credentials
          /trtc/credentials  the TURN REST API answer
          /trtc/status       health checks and counters (?format=json)
          /trtc/check        the diagnostics page: what this browser's network lets through
          /ws/, /logger/     to $hosts
  turnd   turn:127.0.0.1:3478?transport=udp   turn:127.0.0.1:3478?transport=tcp
          turns:127.0.0.1:5349   through nginx: turns:127.0.0.1:8444,
          turn:127.0.0.1:8444?transport=tcp
          relay ports 127.0.0.1:49152-65535, realm trtc
  logs    $run/logs/

Ctrl-C stops both.
EOF

wait
