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
mkdir -p "$run/conf" "$run/logs" "$run/modules" "$run/tmp"
cp "$top"/conf/nginx.conf "$top"/conf/turnd.conf "$run/conf/"
ln -s "$module" "$run/modules/"

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
  turnd   turn:127.0.0.1:3478?transport=udp   turn:127.0.0.1:3478?transport=tcp
          relay ports 127.0.0.1:49152-65535, realm trtc
  logs    $run/logs/

Ctrl-C stops both.
EOF

wait
