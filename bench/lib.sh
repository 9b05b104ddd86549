# Shell helpers shared by the benchmark scripts (sourced, not run):
# logging, building, starting and stopping what a suite runs, reading
# /proc, and awk with bench/lib.awk (the reports' shared functions).
# Set BENCH_NAME (the prefix of log lines) before sourcing.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CFLAGS_BENCH="-std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror"


log() {
    echo "${BENCH_NAME:-bench}: $*" >&2
}


die() {
    log "$*"
    exit 1
}


# stop a process we started, by pid: politely, then not
stop_pid() {
    local pid=$1 sig=$2 i

    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0

    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done

    kill -KILL "$pid" 2>/dev/null
}


# wait_listen PID tcp|udp ADDR:PORT: 0 once something listens there,
# 1 when PID exits first or after 5 s
wait_listen() {
    local pid=$1 flags=-Hltn addr=$3 i

    [ "$2" = udp ] && flags=-Hlun

    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 1
        ss $flags "src $addr" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done

    return 1
}


# nginx_start DIR CPU: nginx (NGINX) with DIR/nginx.conf and prefix DIR,
# on core CPU (its workers inherit it), the config tested first; sets
# NGX_PID (the master, from DIR/nginx.pid: the conf's pid) and NGX_WORKER
# (its one worker); 1, the reason logged, on failure
nginx_start() {
    local d=$1

    "$NGINX" -t -q -p "$d" -c "$d/nginx.conf" 2> "$d/nginx-t.err" \
        || { log "nginx -t: $(cat "$d/nginx-t.err")"; return 1; }

    taskset -c "$2" "$NGINX" -p "$d" -c "$d/nginx.conf" \
        || { log "nginx did not start"; return 1; }

    wait_file "$d/nginx.pid"
    NGX_PID=$(cat "$d/nginx.pid" 2>/dev/null)
    [ -n "$NGX_PID" ] || { log "no nginx pid"; return 1; }

    NGX_WORKER=$(child_pid "$NGX_PID")
    [ -n "$NGX_WORKER" ] || { log "no nginx worker"; return 1; }
}


# nginx_preamble DIR MODULE LEVEL: the top of a benchmark's nginx.conf:
# one worker, pid and error log (at LEVEL) in DIR
nginx_preamble() {
    cat <<EOF
load_module $2;
daemon on;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $1/nginx.pid;
error_log $1/error.log $3;
events {
    worker_connections 8192;
}
EOF
}


# wait_file FILE: 0 once FILE is not empty (a pid file), 1 after 5 s
wait_file() {
    local i

    for i in $(seq 50); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done

    return 1
}


# child_pid PPID: a child of PPID (nginx's worker), from /proc (procps
# may be missing); empty if none within 5 s
child_pid() {
    local i pid

    for i in $(seq 50); do
        pid=$(awk -v ppid="$1" '{
                  sub(/.*\) /, "")
                  if ($2 == ppid) {
                      n = split(FILENAME, p, "/")
                      print p[3]
                      exit
                  }
              }' /proc/[0-9]*/stat 2>/dev/null)
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.1
    done
}


# cpu_ticks PID: utime + stime of all its threads (/proc/PID/stat), in
# clock ticks (getconf CLK_TCK a second)
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" \
        2>/dev/null || echo 0
}


rss_kb() {
    awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}


# awk with bench/lib.awk's functions: bench_awk [-v X=Y ...] PROGRAM
# [FILE ...]
bench_awk() {
    local args=() prog

    while [ "${1:-}" = -v ]; do
        args+=("$1" "$2")
        shift 2
    done

    prog=$1
    shift

    awk "${args[@]}" -f "$BENCH_DIR/lib.awk" -f <(printf '%s\n' "$prog") \
        "$@"
}
