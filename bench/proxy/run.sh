#!/bin/bash
#
# The signaling proxy benchmark: trtc_signaling_pass against the
# equivalent hand-written proxy_pass block (README.md, "trtc_signaling_pass"),
# in the same nginx, one location each, in front of the same WebSocket echo
# upstream (bench/proxy/wsecho: TLS with the signaling.test chain of
# t/cert, verified against t/cert/ca.crt, as the directive's defaults
# expect of a wss:// upstream).  The generator (bench/proxy/wsload)
# measures, through each location:
#
#   handshakes/s   CONC clients: connect, Upgrade, 101, close (each one is
#                  a new TLS connection from nginx to the upstream)
#   messages/s     SESSIONS open sessions, one 64 B masked frame in flight
#                  each, echoed; round trip p50/p99
#
# Runs alternate, a b then b a (round 1: a b, round 2: b a, ...), so slow
# drift of the machine hits both alike; the table (bench/proxy/report.awk)
# gives the median of the rounds, the median of the rounds' a/b ratios,
# the spread, and the CPU that nginx's worker, the echo server and the
# generator used, and how busy the cores were, so a reader can tell what
# saturated.  Prints "BENCH name=... value=..." lines.
#
# The placement: per operation the echo server and the generator together
# cost about what nginx does, so nginx gets a core of its own and they
# share the other (ECHO_CPU=1 puts the echo server next to nginx instead).
#
#   bench/proxy/run.sh            3 rounds of 8 s per figure (about 2 min)
#   QUICK=1 bench/proxy/run.sh    2 rounds of 3 s (under a minute)
#
# Environment: QUICK, ROUNDS, SECS, CONC (handshake clients, 50), SESSIONS
# (100), SIZE (64), UPSTREAM (https or http), NGX_CPU, ECHO_CPU, GEN_CPU
# (cores; default nginx alone on the last core, echo server and generator
# on core 0), NGINX (the binary), MODULE (the .so), SANITIZE=1 (wsload
# and wsecho under ASan/UBSan).  Results, nginx.conf and logs stay in
# build/bench/proxy/run.  Loopback only: nginx on 127.79.0.1, the echo
# server on 127.79.0.2.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build/bench/proxy
W=$B/run
CERT=$ROOT/t/cert

QUICK=${QUICK:-0}

if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-2}
    SECS=${SECS:-3}
else
    ROUNDS=${ROUNDS:-3}
    SECS=${SECS:-8}
fi

CONC=${CONC:-50}
SESSIONS=${SESSIONS:-100}
SIZE=${SIZE:-64}
UPSTREAM=${UPSTREAM:-https}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
MODULE=${MODULE:-$ROOT/build/ngx_http_trtc_module.so}

NCPU=$(nproc)
NGX_CPU=${NGX_CPU:-$((NCPU - 1))}
ECHO_CPU=${ECHO_CPU:-0}
GEN_CPU=${GEN_CPU:-0}

NGX_ADDR=127.79.0.1
NGX_PORT=${NGX_PORT:-18600}
ECHO_ADDR=127.79.0.2
ECHO_PORT_A=${ECHO_PORT_A:-18601}
ECHO_PORT_B=${ECHO_PORT_B:-18602}

# every step is bounded; the whole run stops starting new steps after this
DEADLINE=${DEADLINE:-$([ "$QUICK" = 1 ] && echo 90 || echo 280)}
T_START=$SECONDS

RESULTS=$W/results.txt
RAW=$W/raw.log

ECHO_PID=
NGX_PID=

BENCH_NAME=bench/proxy
. "$ROOT/bench/lib.sh"   # log, die, stop_pid, wait_listen, child_pid, ...

# SANITIZE=1: the generator and the echo server under ASan and UBSan (to
# check them, not to measure)
if [ "${SANITIZE:-0}" = 1 ]; then
    CFLAGS_BENCH="$CFLAGS_BENCH -fsanitize=address,undefined"
    CFLAGS_BENCH="$CFLAGS_BENCH -fno-sanitize-recover=all"
fi


build() {
    mkdir -p "$B"

    gcc $CFLAGS_BENCH -o "$B/wsload" "$ROOT/bench/proxy/wsload.c" \
        || die "cannot build wsload"

    gcc $CFLAGS_BENCH -o "$B/wsecho" "$ROOT/bench/proxy/wsecho.c" \
        -lssl -lcrypto || die "cannot build wsecho"

    if [ "$MODULE" = "$ROOT/build/ngx_http_trtc_module.so" ]; then
        make -C "$ROOT" -s module >&2 || die "cannot build the module"
    fi

    [ -f "$MODULE" ] || die "no module at $MODULE"
    [ -x "$NGINX" ] || die "no nginx at $NGINX"
}


cleanup() {
    # nginx's master stops its workers on QUIT
    stop_pid "$NGX_PID" QUIT
    stop_pid "$ECHO_PID" TERM
    wait 2>/dev/null
}


write_nginx_conf() {
    local scheme=$UPSTREAM trtc_tls= hand_tls=

    if [ "$scheme" = https ]; then
        trtc_tls="host=signaling.test ca=$CERT/ca.crt"
        hand_tls="
            proxy_ssl_server_name on;
            proxy_ssl_name signaling.test;
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 4;
            proxy_ssl_trusted_certificate $CERT/ca.crt;"
    else
        trtc_tls="host=signaling.test"
    fi

    # /a/ and /b/ go to two ports of the same echo server, so each has its
    # own implicit upstream (and its own cache of TLS sessions)
    {
        echo "# written by bench/proxy/run.sh"
        nginx_preamble "$W" "$MODULE" warn
    } > "$W/nginx.conf"

    cat >> "$W/nginx.conf" <<EOF
http {
    access_log off;
    client_body_temp_path $W/tmp/body;
    proxy_temp_path $W/tmp/proxy;
    fastcgi_temp_path $W/tmp/fastcgi;
    uwsgi_temp_path $W/tmp/uwsgi;
    scgi_temp_path $W/tmp/scgi;

    # the stock idiom for the Connection header
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }

    server {
        listen $NGX_ADDR:$NGX_PORT backlog=4096;

        location /a/ {
            trtc_signaling_pass $scheme://$ECHO_ADDR:$ECHO_PORT_A/
                                $trtc_tls;
        }

        # README.md's equivalent, written by hand with stock nginx only
        location /b/ {
            proxy_pass $scheme://$ECHO_ADDR:$ECHO_PORT_B/;
            proxy_http_version 1.1;
            proxy_set_header Host signaling.test;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_socket_keepalive on;$hand_tls
        }
    }
}
EOF
}


start_echo() {
    local tls=()

    if [ "$UPSTREAM" = https ]; then
        tls=(-c "$CERT/signaling.test.crt" -k "$CERT/signaling.test.key")
    fi

    taskset -c "$ECHO_CPU" "$B/wsecho" -a "$ECHO_ADDR" -l "$ECHO_PORT_A" \
        -l "$ECHO_PORT_B" "${tls[@]}" -n signaling.test \
        -t "$((DEADLINE + 60))" > "$W/wsecho.out" 2>&1 &
    ECHO_PID=$!

    wait_listen "$ECHO_PID" tcp "$ECHO_ADDR:$ECHO_PORT_B" && return 0

    kill -0 "$ECHO_PID" 2>/dev/null \
        || { cat "$W/wsecho.out" >&2; die "wsecho exited at start"; }

    die "wsecho does not listen"
}


start_nginx() {
    mkdir -p "$W/tmp"
    write_nginx_conf

    nginx_start "$W" "$NGX_CPU" || die "nginx failed on $W/nginx.conf"
    WORKER=$NGX_WORKER
}


# run_load FIGURE VARIANT ROUND: one measurement, appended to $RESULTS
run_load() {
    local fig=$1 v=$2 round=$3 args out rc

    case $fig in
    hs)  args=(-m hs -c "$CONC") ;;
    msg) args=(-m msg -c "$SESSIONS" -s "$SIZE") ;;
    esac

    out=$(timeout -k 2 "$((SECS + 30))" taskset -c "$GEN_CPU" "$B/wsload" \
              "${args[@]}" -a "$NGX_ADDR:$NGX_PORT" -u "/$v/bench" \
              -H bench.test -d "$SECS" -P nginx="$WORKER" \
              -P echo="$ECHO_PID" 2>>"$RAW")
    rc=$?

    echo "$fig $v $round rc=$rc $out" >> "$RAW"

    if [ $rc -ne 0 ] || [ -z "$out" ]; then
        log "$fig /$v/ round $round failed (rc=$rc), see $RAW"
        return 1
    fi

    echo "$out" | tr ' ' '\n' | grep '=' \
        | sed "s/^/$fig $v $round /; s/=/ /" >> "$RESULTS"
}


# the one-line summary of each run, as it goes
show_run() {
    local fig=$1 v=$2 round=$3

    awk -v f="$fig" -v v="$v" -v r="$round" '
        $1 == f && $2 == v && $3 == r { x[$4] = $5 }
        END {
            printf "bench/proxy: %-3s /%s/ round %s: %9.1f/s  p50 %s us  " \
                   "p99 %s us  err %d  cpu nginx %s echo %s gen %s  " \
                   "busy %s/%s\n",
                   f, v, r, x["rate"], x["p50_us"], x["p99_us"],
                   x["errors"] + x["timeouts"], x["cpu_nginx"],
                   x["cpu_echo"], x["cpu_gen"], x["busy_cpu0"],
                   x["busy_cpu1"]
        }' "$RESULTS" >&2
}


report() {
    awk -v rounds="$ROUNDS" -v secs="$SECS" -v conc="$CONC" \
        -v sessions="$SESSIONS" -v size="$SIZE" -v up="$UPSTREAM" \
        -v ncpu="$NGX_CPU" -v ecpu="$ECHO_CPU" -v gcpu="$GEN_CPU" \
        -f "$ROOT/bench/lib.awk" -f "$ROOT/bench/proxy/report.awk" \
        "$RESULTS"
}


main() {
    local round fig v order failed=0

    command -v taskset > /dev/null || die "taskset (util-linux) is needed"
    command -v ss > /dev/null || die "ss (iproute2) is needed"

    build

    rm -rf "$W"
    mkdir -p "$W"
    : > "$RESULTS"
    : > "$RAW"

    trap cleanup EXIT
    trap 'exit 130' INT TERM

    start_echo
    start_nginx

    log "nginx worker $WORKER on cpu $NGX_CPU, wsecho $ECHO_PID ($UPSTREAM)" \
        "on cpu $ECHO_CPU, wsload on cpu $GEN_CPU; $ROUNDS rounds of $SECS s"

    # both locations answer, through TLS with the right Host and SNI
    # (wsecho refuses others), before anything is timed
    for v in a b; do
        timeout -k 2 20 "$B/wsload" -m msg -c 2 -d 0.2 -w 0 \
            -a "$NGX_ADDR:$NGX_PORT" -u "/$v/check" -H bench.test \
            > "$W/check.$v" 2>&1 \
            || { cat "$W/check.$v" >&2; tail -5 "$W/error.log" >&2;
                 die "/$v/ does not echo"; }
    done

    for fig in hs msg; do
        for round in $(seq "$ROUNDS"); do
            # a b, then b a: neither always goes first
            if [ $((round % 2)) = 1 ]; then order="a b"; else order="b a"; fi

            for v in $order; do
                if [ $((SECONDS - T_START)) -gt "$DEADLINE" ]; then
                    log "deadline of $DEADLINE s reached, skipping the rest"
                    break 3
                fi

                if run_load "$fig" "$v" "$round"; then
                    show_run "$fig" "$v" "$round"
                else
                    failed=1
                fi

                # let the TIME_WAITs and the last sessions' closes settle
                sleep 0.5
            done
        done
    done

    stop_pid "$ECHO_PID" TERM
    wait "$ECHO_PID" 2>/dev/null
    ECHO_PID=
    log "echo server: $(tr "\n" " " < "$W/wsecho.out")"
    log "nginx error.log: $(grep -c . "$W/error.log") lines at warn or above"

    report

    return $failed
}


main "$@"
