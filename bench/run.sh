#!/bin/bash
#
# The relay benchmark: turnd against coturn (Debian's turnserver, run
# directly with its own config) and against the floor (bench/udpfwd, the
# least a user-space UDP relay can do), same client (bench/turnload), same
# machine, same run.  Prints one table and a "BENCH name=... value=..."
# line per figure.
#
#   bench/run.sh              full matrix (about 12 minutes)
#   QUICK=1 bench/run.sh      UDP, 50 allocations, 200 B, small memory test
#   PARTS=tls bench/run.sh    TURN over TLS: turnd, coturn, and turnd behind
#                             nginx's stream hop (bench/tls.sh, 13 minutes)
#
# Environment: QUICK, PARTS (default "relay mem offload": the relay
# matrix, the memory and allocation-rate figures, bench/offload.sh;
# "tls": bench/tls.sh), ROUNDS (repeat the relay matrix, medians are
# reported), SERVERS (default "floor turnd coturn"), SRV_CPU and GEN_CPU
# (cores for the server and the generator), TURND (the binary), HOLD_N,
# KEEP=1 (keep build/bench/run), NET and CLIENT_NET.  Loopback only:
# NET.0.0/16 (127.77) for the servers and the peer, CLIENT_NET.0.0/16
# (127.78) for the clients; two runs at once need other nets.
#
# The three servers run side by side (idle when not measured) and every
# cell measures them one after the other, in an order that rotates from
# cell to cell, so slow drift of the machine hits all three alike.  The
# memory and allocation-rate figures use fresh server processes.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
W=$B/run

QUICK=${QUICK:-0}
ROUNDS=${ROUNDS:-1}
SERVERS=${SERVERS:-"floor turnd coturn"}
TURND=${TURND:-$ROOT/build/turnd}
TURNSERVER=${TURNSERVER:-$(command -v turnserver || true)}

NCPU=$(nproc)
SRV_CPU=${SRV_CPU:-$((NCPU > 1 ? 1 : 0))}
GEN_CPU=${GEN_CPU:-0}

# fixed load for CPU per packet and latency: round trips/s, so twice as
# many packets relayed (100k relayed pkt/s)
FIXED_RTPS=${FIXED_RTPS:-50000}

if [ "$QUICK" = 1 ]; then
    TRANSPORTS=${TRANSPORTS:-udp}
    COUNTS=${COUNTS:-50}
    SIZES=${SIZES:-200}
    FIXED_SECS=1
    FIXED_REPS=2
    STEP_SECS=1
    HOLD_N=${HOLD_N:-2000}
    STORM_SECS=2
else
    TRANSPORTS=${TRANSPORTS:-"udp tcp"}
    COUNTS=${COUNTS:-"1 50 500"}
    SIZES=${SIZES:-"200 1200"}
    FIXED_SECS=1
    FIXED_REPS=3
    STEP_SECS=1.2
    HOLD_N=${HOLD_N:-10000}
    STORM_SECS=5
fi

START_RTPS=30000

PARTS=${PARTS:-"relay mem offload"}
case " $PARTS " in
*" relay "*) ;;
*) TRANSPORTS= ;;
esac

# the TLS part alone keeps its results apart from the default run's
[ "$PARTS" = tls ] && W=$B/run-tls

# bounds: relay cells are skipped after DEADLINE seconds, and waiting for
# a quiet machine stops after QUIET_BUDGET seconds in all
if [ "$QUICK" = 1 ]; then
    DEADLINE=${DEADLINE:-120}
else
    DEADLINE=${DEADLINE:-780}
fi
QUIET_BUDGET=${QUIET_BUDGET:-60}
WAITED=0
STORM_CONC=32
REALM=bench
USER=bench
PASS=benchpw
NET=${NET:-127.77}
CLIENT_NET=${CLIENT_NET:-127.78}
PEER=$NET.9.2:4000
CLIENT=$CLIENT_NET.0.1

declare -A IP=([turnd]=$NET.0.1 [coturn]=$NET.1.1 [floor]=$NET.2.1
              [hop]=$NET.3.1)
declare -A TLS_PORT=([turnd]=5349 [coturn]=5349 [hop]=4443)
declare -A PID=()

RESULTS=$W/results.txt
RAW=$W/raw.log

BENCH_NAME=bench
. "$ROOT/bench/lib.sh"   # log, die, stop_pid, wait_listen, rss_kb, bench_awk


# --- build -----------------------------------------------------------------

build() {
    mkdir -p "$B"

    gcc $CFLAGS_BENCH -I"$ROOT/common" -o "$B/turnload" \
        "$ROOT/bench/turnload.c" "$ROOT/common/trtc_stun.c" \
        "$ROOT/common/trtc_crypto.c" -lssl -lcrypto -lz \
        || die "cannot build turnload"

    gcc $CFLAGS_BENCH -o "$B/udpfwd" "$ROOT/bench/udpfwd.c" \
        || die "cannot build udpfwd"

    if [ ! -x "$TURND" ] && [ "$TURND" = "$ROOT/build/turnd" ]; then
        make -C "$ROOT" -s turnd >&2 || log "cannot build turnd"
    fi
}


# --- servers ---------------------------------------------------------------

# where a cell sends: the TURN port, the TLS port, or the stream hop
target() {
    case $2 in
    tls) echo "${IP[$1]}:${TLS_PORT[$1]}" ;;
    *)   echo "${IP[$1]}:3478" ;;
    esac
}


# whose CPU a cell counts: the server's, or nginx's worker and turnd's
server_pids() {
    if [ "$1" = hop ]; then
        echo "${PID[turnd]},$HOP_WORKER"
    else
        echo "${PID[$1]}"
    fi
}


# the TLS lines of a server's config: none outside the TLS part
tls_conf() {
    if [ "${WITH_TLS:-0}" != 1 ]; then
        echo "no-tls"
        return
    fi

    echo "tls-listening-port=5349"
    echo "cert=$W/cert.pem"
    echo "pkey=$W/key.pem"
    [ "$1" = turnd ] && echo "proxy-protocol-from=$HOP_SRC"
}


write_conf() {
    local name=$1 ip=${IP[$1]}

    case $name in
    turnd|coturn)
        cat > "$W/$name.conf" <<EOF
# written by bench/run.sh: the same settings for both servers
listening-ip=$ip
listening-port=3478
relay-ip=$ip
min-port=40000
max-port=59999
realm=$REALM
lt-cred-mech
user=$USER:$PASS
allow-loopback-peers
relay-threads=1
$(tls_conf "$name")
no-dtls
no-cli
no-stdout-log
log-file=/dev/null
pidfile=$W/$name.pid
EOF
        ;;
    esac

    # turnd only: the load generator is one address, and turnd's default
    # unauth-rate (50 answers a second to one /24) would throttle its 401s;
    # coturn has no such limit
    if [ "$name" = turnd ]; then
        echo "unauth-rate=0" >> "$W/$name.conf"
    fi

    # coturn only: no log rollover, its own user db (not the system's),
    # and none of its periodic database polls
    if [ "$name" = coturn ]; then
        cat >> "$W/$name.conf" <<EOF
simple-log
userdb=$W/coturn.db
no-auth-pings
no-dynamic-ip-list
no-dynamic-realms
EOF
    fi
}


start_server() {
    local name=$1 ip=${IP[$1]} i pid=

    rm -f "$W/$name.pid"
    write_conf "$name"

    case $name in
    floor)
        taskset -c "$SRV_CPU" "$B/udpfwd" -l "$ip:3478" -p "$PEER" \
            -t 3600 -f "$W/$name.pid" > "$W/$name.out" 2>&1 &
        ;;
    turnd)
        taskset -c "$SRV_CPU" "$W/turnd" -c "$W/turnd.conf" \
            > "$W/$name.out" 2>&1 &
        ;;
    coturn)
        taskset -c "$SRV_CPU" "$TURNSERVER" -c "$W/coturn.conf" \
            > "$W/$name.out" 2>&1 &
        ;;
    esac

    PID[$name]=$!

    # ready when it listens on its address
    if wait_listen "${PID[$name]}" udp "$ip:3478"; then
        sleep 0.3
        return 0
    fi

    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
        log "$name exited at start:"
        tail -5 "$W/$name.out" >&2
        unset "PID[$name]"
        return 1
    fi

    log "$name does not listen on $ip:3478"
    stop_server "$name"
    return 1
}


stop_server() {
    local name=$1 pid=${PID[$1]:-}

    [ -n "$pid" ] || return 0

    stop_pid "$pid" TERM
    wait "$pid" 2>/dev/null
    unset "PID[$name]"
}


cleanup() {
    local name

    stop_hop

    for name in "${!PID[@]}"; do
        stop_server "$name"
    done
}


# --- the generator ---------------------------------------------------------

# turnload on the generator's core, bounded in time
turnload() {
    local secs=$1

    shift
    taskset -c "$GEN_CPU" timeout -k 5 "$secs" "$B/turnload" \
        -P "$PEER" -C "$CLIENT" -u "$USER" -U "$PASS" \
        -c "$SRV_CPU" -g "$GEN_CPU" "$@"
}


# gen FILE PATTERN SECS ARGS...: one turnload run into $W/FILE and the
# raw log; its lines of the kinds in PATTERN shown as it goes
gen() {
    local out=$W/$1 kinds=$2 secs=$3

    shift 3
    turnload "$secs" "$@" > "$out" 2>> "$W/turnload.err"
    cat "$out" >> "$RAW"
    grep -E "^($kinds)" "$out" | sed 's/^/  /' >&2
}


# waits (at most 10 s, QUIET_BUDGET in all) until the machine is quiet:
# less than 15% of a core busy, so a cell does not start inside another
# job
wait_quiet() {
    local i a b

    for i in $(seq 20); do
        [ $((WAITED / 2)) -lt "$QUIET_BUDGET" ] || break
        a=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat)
        sleep 0.5
        b=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat)
        if awk -v a="$a" -v b="$b" 'BEGIN {
                split(a, x, " "); split(b, y, " ");
                busy = y[1] - x[1]; idle = y[2] - x[2];
                exit !(busy / (busy + idle + 1e-9) < 0.15 / 2)
            }'
        then
            return 0
        fi

        [ "$i" = 1 ] && log "machine busy with something else; waiting"
        WAITED=$((WAITED + 1))
    done

    log "machine still busy; measuring anyway (steps are flagged noisy)"
}


# one server in one cell: the search for the highest rate that passes
# (kind search), or one run at the fixed load (kind fixed); appends
# "server cell round key value" lines to RESULTS
relay_cell() {
    local name=$1 tr=$2 n=$3 size=$4 round=$5 kind=$6
    local cell="$tr.n$n.s$size" label="$1.$tr.n$n.s$size.r$round"
    local args=(-m relay -s "$(target "$name" "$tr")"
                -p "$(server_pids "$name")" -n "$n" -z "$size" -T 170)
    local start=$START_RTPS fixed=$FIXED_RTPS

    # over TLS both servers saturate below the UDP figures
    if [ "$tr" = tls ]; then
        args+=(--tls --tls-version "$TLS_RELAY_VERSION")
        start=$START_RTPS_TLS
        fixed=$FIXED_RTPS_TLS
    fi

    if [ "$kind" = search ]; then
        args+=(-S -a "$start" -D "$STEP_SECS" -W 0.5 -l "$label")
    else
        args+=(-r "$fixed" -d "$FIXED_SECS" -W 0.3 -l "$label.f")
    fi

    [ "$name" = floor ] && args+=(--raw)
    [ "$tr" = tcp ] && args+=(--tcp)

    gen cell.out 'SETUP|SEARCH|ERROR' 180 "${args[@]}"

    bench_awk -v s="$name" -v c="$cell" -v r="$round" '
        /^STEP/ && / phase=fixed / {
            print s, c, r, "cpu", kv($0, "cpu_s_per_mpkt");
            print s, c, r, "p50", kv($0, "p50_us");
            print s, c, r, "p99", kv($0, "p99w_us");
            print s, c, r, "p99_all", kv($0, "p99_us");
            print s, c, r, "p999_all", kv($0, "p999_us");
            print s, c, r, "fixed_loss", kv($0, "loss");
            print s, c, r, "fixed_pass", kv($0, "pass");
            print s, c, r, "fixed_gen_busy", kv($0, "gen_busy");
            print s, c, r, "fixed_noise", kv($0, "noise");
        }
        /^SEARCH/ {
            print s, c, r, "max", kv($0, "best_relayed_pps");
            print s, c, r, "limit", kv($0, "limit");
            print s, c, r, "fail_srv_busy", kv($0, "fail_srv_busy");
            print s, c, r, "fail_gen_busy", kv($0, "fail_gen_busy");
            print s, c, r, "best_srv_busy", kv($0, "best_srv_busy");
            print s, c, r, "best_gen_busy", kv($0, "best_gen_busy");
        }
        /^STEP/ && / phase=search / { if (kv($0, "noise") + 0 > 0.15) noisy++ }
        /^ERROR / { print s, c, r, "error", kv($0, "what") }
        END { print s, c, r, "noisy_steps", noisy + 0 }
    ' "$W/cell.out" >> "$RESULTS"
}


# memory with HOLD_N live allocations, then an allocation storm, on a
# fresh server: idle RSS, live RSS, RSS after release, cycles/s, RSS after
# the storm
memory_and_rate() {
    local name=$1 idle live after storm_rss

    start_server "$name" || return 1
    sleep 1

    gen hold.out 'SETUP|HOLD|ERROR' 120 -m hold -s "${IP[$name]}:3478" \
        -p "${PID[$name]}" -n "$HOLD_N" -T 110 -l "$name.hold"

    wait_quiet
    gen storm.out 'ALLOCRATE|ERROR' 60 -m allocrate \
        -s "${IP[$name]}:3478" -p "${PID[$name]}" -k "$STORM_CONC" \
        -d "$STORM_SECS" -T 50 -l "$name.storm"

    sleep 2
    storm_rss=$(rss_kb "${PID[$name]}")

    bench_awk -v s="$name" -v rss="$storm_rss" '
        /^HOLD/ {
            print s, "mem", 0, "idle_kb", kv($0, "idle_rss_kb");
            print s, "mem", 0, "live_kb", kv($0, "live_rss_kb");
            print s, "mem", 0, "release_kb", kv($0, "after_rss_kb");
            print s, "mem", 0, "bytes_per_alloc", kv($0, "bytes_per_alloc");
            print s, "mem", 0, "held", kv($0, "ready");
        }
        /^ALLOCRATE/ && / phase=allocrate / {
            print s, "mem", 0, "cycles_per_s", kv($0, "cycles_per_s");
            print s, "mem", 0, "storm_failed", kv($0, "failed");
            print s, "mem", 0, "storm_srv_busy", kv($0, "srv_busy");
            print s, "mem", 0, "storm_gen_busy", kv($0, "gen_busy");
            print s, "mem", 0, "storm_cpu_us", kv($0, "srv_cpu_us_per_cycle");
            print s, "mem", 0, "storm_noise", kv($0, "noise");
            print s, "mem", 0, "storm_core_srv", kv($0, "core_srv");
            print s, "mem", 0, "storm_core_gen", kv($0, "core_gen");
            print s, "mem", 0, "cycle_p99_us", kv($0, "cycle_p99_us");
            print s, "mem", 0, "storm_kb", rss;
        }
    ' "$W/hold.out" "$W/storm.out" >> "$RESULTS"

    stop_server "$name"
}


# --- the table -------------------------------------------------------------

report() {
    awk -v hold="$HOLD_N" -v bench_out=/dev/stderr -f "$ROOT/bench/lib.awk" \
        -f "$ROOT/bench/report.awk" "$RESULTS"
}


. "$ROOT/bench/tls.sh"    # tls_part, stop_hop


# the relay matrix: TRANSPORTS x COUNTS x SIZES, for the running SERVERS
relay_matrix() {
    local k round tr n size order i j name rep

    k=0
    for round in $(seq "$ROUNDS"); do
        for tr in $TRANSPORTS; do
            for n in $COUNTS; do
                for size in $SIZES; do
                    # a cell is measured for all servers or for none
                    if [ "$SECONDS" -gt "$DEADLINE" ]; then
                        log "past ${DEADLINE}s: $tr n=$n size=$size skipped"
                        continue
                    fi

                    # rotate who goes first
                    set -- $SERVERS
                    order=()
                    for i in $(seq $#); do
                        j=$(( (i - 1 + k) % $# + 1 ))
                        order+=("${!j}")
                    done
                    k=$((k + 1))

                    for name in "${order[@]}"; do
                        [ -n "${PID[$name]:-}" ] || continue
                        wait_quiet
                        log "round $round $tr n=$n size=$size: $name"
                        relay_cell "$name" "$tr" "$n" "$size" "$round" search
                    done

                    # the fixed load in short runs, the servers taking turns,
                    # so a disturbance of the host hits them alike
                    for rep in $(seq "$FIXED_REPS"); do
                        wait_quiet
                        for i in $(seq ${#order[@]}); do
                            name=${order[$(( (i - 1 + rep) % ${#order[@]} ))]}
                            [ -n "${PID[$name]:-}" ] || continue
                            relay_cell "$name" "$tr" "$n" "$size" \
                                "$round.$rep" fixed
                        done
                    done
                done
            done
        done
    done
}


# --- main ------------------------------------------------------------------

[ -n "$TURNSERVER" ] || log "turnserver (Debian coturn) not found: no coturn"

build

rm -rf "$W"
mkdir -p "$W"
: > "$RESULTS"
: > "$RAW"

trap cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 allocations: as many client sockets here, relay sockets there
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((HOLD_N + 500)) ]; then
    HOLD_N=$(( ($(ulimit -n) - 500) / 1000 * 1000 ))
    log "open files limit $(ulimit -n): holding $HOLD_N allocations"
fi

# a copy, so a rebuild during the run does not change what is measured
if [ -x "$TURND" ]; then
    cp "$TURND" "$W/turnd"
else
    log "no turnd binary ($TURND): turnd is left out"
    SERVERS=${SERVERS/turnd/}
fi

[ -n "$TURNSERVER" ] || SERVERS=${SERVERS/coturn/}

cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)

{
    echo "# bench/run.sh $(date -u +%FT%TZ) QUICK=$QUICK ROUNDS=$ROUNDS"
    echo "# $(uname -srm), $NCPU cpus ($cpu_model)"
    echo "# server on cpu $SRV_CPU, generator on cpu $GEN_CPU; relay-threads=1"
    [ -n "$TURNSERVER" ] \
        && echo "# coturn: $("$TURNSERVER" --version 2>&1 | head -1)"
    echo "# turnd: $TURND ($(stat -c %y "$TURND" 2>/dev/null | cut -d. -f1))"
    echo "# fixed load $((FIXED_RTPS * 2)) relayed pkt/s:" \
         "$FIXED_REPS runs of ${FIXED_SECS}s each;" \
         "search steps ${STEP_SECS}s from $((START_RTPS * 2)) pkt/s"
} | tee "$W/header.txt"

if [ -n "$TRANSPORTS" ]; then
    for name in $SERVERS; do
        start_server "$name" || SERVERS=${SERVERS/$name/}
    done

    log "servers: $SERVERS"
fi

relay_matrix

for name in $SERVERS; do
    stop_server "$name"
done

for name in $SERVERS; do
    [ "$name" = floor ] && continue
    case " $PARTS " in *" mem "*) ;; *) continue ;; esac
    log "memory and allocation rate: $name"
    memory_and_rate "$name"
done

case " $PARTS " in
*" tls "*)
    log "TURN over TLS"
    tls_part
    ;;
esac

if [ -n "$TRANSPORTS" ] || [[ " $PARTS " == *" mem "* ]]; then
    echo
    report 2> "$W/bench.txt" | tee "$W/table.txt"
    echo
    cat "$W/bench.txt"
fi

if [[ " $PARTS " == *" tls "* ]]; then
    echo
    tls_report 2> "$W/tls-bench.txt" | tee "$W/tls-table.txt"
    echo
    cat "$W/tls-bench.txt"
fi

echo
echo "# raw generator output: $RAW"

# the turnd+offload column (kernel-offload), beside the floor, turnd and
# coturn, in network namespaces joined by veth: bench/offload.sh
case " $PARTS " in
*" offload "*) "$ROOT/bench/offload.sh" ;;
esac
