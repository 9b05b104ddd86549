#!/bin/bash
#
# The spool benchmark: what writing log uploads to the spool costs the
# WebSocket signaling that the same nginx worker carries.  One nginx, one
# worker: /ws/ is trtc_signaling_pass to a WebSocket echo server
# (bench/proxy/wsecho, plain ws://), /t/ and /l/ are trtc_logger_pass to
# a port where nothing listens (every upload is spooled) with
# trtc_logger_spool in the thread pool (/t/, the default) and on the event
# loop (/l/, threads=off: the write, fsync() and rename() of every upload
# on the worker, as before issue 11).  For each variant, SESSIONS
# signaling sessions echo 64 B frames (bench/proxy/wsload) while
# bench/spool/upload.py posts RATE uploads of SIZE bytes a second (past
# the 16k nginx keeps in memory: they go through its temp file):
#
#   idle     no uploads (the floor)
#   thread   uploads to /t/ (spool disk work in nginx's thread pool)
#   loop     uploads to /l/ (the same work on the event loop)
#
# Rounds alternate the order of the variants; the table gives per variant
# the median over rounds of the signaling round trip p50 and p99, the
# frames/s, and the uploads answered.  The spool is on the file system of
# build/ (fsync() is what a real disk makes slow).  Prints "BENCH ..."
# lines.
#
#   bench/spool/run.sh            3 rounds of 8 s per variant (under 2 min)
#   QUICK=1 bench/spool/run.sh    2 rounds of 4 s
#
# Environment: QUICK, ROUNDS, SECS, RATE (uploads/s, 200), SIZE (bytes,
# 32768), SESSIONS (50), NGINX, MODULE, NGX_CPU (default the last core;
# the echo server, wsload and the uploads share core 0).  Results stay in
# build/bench/spool/run.  Loopback only (127.79.1.1, 127.79.1.2).

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build/bench/spool
W=$B/run

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-2}; SECS=${SECS:-4}
else
    ROUNDS=${ROUNDS:-3}; SECS=${SECS:-8}
fi
RATE=${RATE:-200}
SIZE=${SIZE:-32768}
SESSIONS=${SESSIONS:-50}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
MODULE=${MODULE:-$ROOT/build/ngx_http_trtc_module.so}
NCPU=$(nproc)
NGX_CPU=${NGX_CPU:-$((NCPU - 1))}
GEN_CPU=0

NGX_ADDR=127.79.1.1
NGX_PORT=${NGX_PORT:-18700}
ECHO_ADDR=127.79.1.2
ECHO_PORT=${ECHO_PORT:-18701}
DEAD_PORT=${DEAD_PORT:-18702}
DEADLINE=$(( ROUNDS * 3 * (SECS + 6) + 60 ))

RESULTS=$W/results.txt
ECHO_PID=
NGX_PID=
UP_PID=

BENCH_NAME=bench/spool
. "$ROOT/bench/lib.sh"   # log, die, stop_pid, nginx_start, bench_awk

cleanup() {
    stop_pid "$UP_PID" TERM
    stop_pid "$NGX_PID" QUIT
    stop_pid "$ECHO_PID" TERM
    wait 2>/dev/null
}

build() {
    mkdir -p "$B"
    gcc $CFLAGS_BENCH -o "$B/wsload" "$ROOT/bench/proxy/wsload.c" \
        || die "cannot build wsload"
    gcc $CFLAGS_BENCH -o "$B/wsecho" "$ROOT/bench/proxy/wsecho.c" -lssl -lcrypto \
        || die "cannot build wsecho"
    if [ "$MODULE" = "$ROOT/build/ngx_http_trtc_module.so" ]; then
        make -C "$ROOT" -s module >&2 || die "cannot build the module"
    fi
    [ -f "$MODULE" ] || die "no module at $MODULE"
}

start() {
    mkdir -p "$W/tmp" "$W/spool_t" "$W/spool_l"

    # as root the workers run as nobody
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$W/spool_t" "$W/spool_l"
    fi
    {
        echo "# written by bench/spool/run.sh"
        nginx_preamble "$W" "$MODULE" crit
    } > "$W/nginx.conf"

    cat >> "$W/nginx.conf" <<CONF
http {
    access_log off;
    client_body_temp_path $W/tmp/body;
    proxy_temp_path $W/tmp/proxy;
    server {
        listen $NGX_ADDR:$NGX_PORT backlog=4096;
        location /ws/ {
            trtc_signaling_pass http://$ECHO_ADDR:$ECHO_PORT/
                                host=signaling.test;
        }
        location /t/ {
            trtc_logger_pass http://127.0.0.1:$DEAD_PORT/;
            trtc_logger_spool $W/spool_t max_size=8g;
        }
        location /l/ {
            trtc_logger_pass http://127.0.0.1:$DEAD_PORT/;
            trtc_logger_spool $W/spool_l max_size=8g threads=off;
        }
    }
}
CONF

    taskset -c "$GEN_CPU" "$B/wsecho" -a "$ECHO_ADDR" -l "$ECHO_PORT" \
        -n signaling.test -t "$DEADLINE" > "$W/wsecho.out" 2>&1 &
    ECHO_PID=$!

    nginx_start "$W" "$NGX_CPU" || die "nginx failed on $W/nginx.conf"
    sleep 0.5
}

# run VARIANT ROUND
run() {
    local v=$1 round=$2 path out up

    case $v in
    thread) path=/t/u ;;
    loop)   path=/l/u ;;
    *)      path= ;;
    esac

    rm -f "$W"/spool_t/* "$W"/spool_l/* "$W/upload.out"

    if [ -n "$path" ]; then
        taskset -c "$GEN_CPU" timeout -k 2 "$((SECS + 40))" \
            python3 "$ROOT/bench/spool/upload.py" "$NGX_ADDR" "$NGX_PORT" \
            "$path" "$RATE" "$SIZE" "$((SECS + 1))" > "$W/upload.out" &
        UP_PID=$!
        sleep 0.5
    fi

    out=$(timeout -k 2 "$((SECS + 30))" taskset -c "$GEN_CPU" \
              "$B/wsload" -m msg -c "$SESSIONS" -s 64 \
              -a "$NGX_ADDR:$NGX_PORT" -u /ws/bench -H bench.test \
              -d "$SECS" 2>>"$W/raw.log")

    if [ -n "$UP_PID" ]; then
        wait "$UP_PID"
        UP_PID=
    fi

    up=$(cat "$W/upload.out" 2>/dev/null)
    echo "$v $round $out $up" >> "$W/raw.log"
    echo "$out $up" | tr ' ' '\n' | grep '=' \
        | sed "s/^/$v $round /; s/=/ /" >> "$RESULTS"
    log "$v round $round: $(echo "$out" | grep -o 'rate=[^ ]*\|p50_us=[^ ]*\|p99_us=[^ ]*' | tr '\n' ' ') $up"
}

report() {
    bench_awk -v rate="$RATE" -v size="$SIZE" -v secs="$SECS" \
        -v rounds="$ROUNDS" -v sessions="$SESSIONS" '
    function med(v, k) { return median(v SUBSEP k) }
    { add_value($1 SUBSEP $3, $4) }
    END {
        printf "\nsignaling round trip while uploads are spooled: %d/s of %d B, " \
               "%d sessions, %d rounds of %d s (medians)\n\n", rate, size,
               sessions, rounds, secs
        printf "| variant | frames/s | p50 us | p99 us | uploads ok/sent |\n"
        printf "|---|---|---|---|---|\n"
        split("idle thread loop", vs, " ")
        for (i = 1; i <= 3; i++) {
            v = vs[i]
            printf "| %s | %.0f | %s | %s | %s/%s |\n", v, med(v, "rate"),
                   med(v, "p50_us"), med(v, "p99_us"),
                   med(v, "ok"), med(v, "uploads")
        }
        for (i = 1; i <= 3; i++) {
            v = vs[i]
            bench_line("spool_signaling_p99_us_" v, med(v, "p99_us"), "")
        }
    }' "$RESULTS"
}

main() {
    local round v order

    command -v taskset > /dev/null || die "taskset (util-linux) is needed"
    build
    rm -rf "$W"
    mkdir -p "$W"
    : > "$RESULTS"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    start

    timeout -k 2 20 "$B/wsload" -m msg -c 2 -d 0.2 -w 0 \
        -a "$NGX_ADDR:$NGX_PORT" -u /ws/check -H bench.test \
        > "$W/check" 2>&1 || { cat "$W/check" >&2; die "/ws/ does not echo"; }

    for round in $(seq "$ROUNDS"); do
        case $((round % 3)) in
        1) order="idle thread loop" ;;
        2) order="loop idle thread" ;;
        0) order="thread loop idle" ;;
        esac
        for v in $order; do
            run "$v" "$round"
            sleep 0.5
        done
    done

    log "nginx error.log: $(grep -c . "$W/error.log") lines at crit or above"
    report
}

main "$@"
