#!/bin/bash
#
# kernel-offload's benchmark: the turnd+offload column beside the floor
# (bench/udpfwd), turnd and coturn, in one run, in two network namespaces
# joined by a veth pair (the program runs on a device's ingress, which
# loopback would not show): the servers in one, bench/turnload (clients
# and the echoing peer) in the other.  Called by bench/run.sh (PARTS
# offload) or alone:
#
#   bench/offload.sh             UDP, 50 allocations, 200 and 1200 bytes
#   QUICK=1 bench/offload.sh     200 bytes only, shorter steps
#
# The cost moves from turnd's process into the kernel's softirq, so the
# CPU figure is the server core's busy time from /proc/stat (user,
# system, irq and softirq: everything but idle and iowait) divided by
# the packets relayed, the same formula for all four.  Receive packet
# steering puts each side's ingress work on its own core (the servers'
# veth on SRV_CPU, the generator's on GEN_CPU), as a NIC's queues would.
# Private addresses 10.219.0.0/24 only, no route out; namespaces and
# processes go at exit, also on failure or interrupt.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
BENCH_NAME="bench offload"

B=$ROOT/build/bench
W=$B/offload
QUICK=${QUICK:-0}
TURND=${TURND:-$ROOT/build/turnd}
TURNSERVER=${TURNSERVER:-$(command -v turnserver || true)}
SERVERS=${SERVERS:-"floor turnd coturn offload"}

NCPU=$(nproc)
SRV_CPU=${SRV_CPU:-$((NCPU > 1 ? 1 : 0))}
GEN_CPU=${GEN_CPU:-0}
FIXED_RTPS=${FIXED_RTPS:-10000}       # 20k relayed pkt/s: all keep up
N=${N:-50}

if [ "$QUICK" = 1 ]; then
    SIZES=${SIZES:-200}
    STEP_SECS=1
    FIXED_REPS=2
    FIXED_SECS=3
else
    SIZES=${SIZES:-"200 1200"}
    STEP_SECS=1.2
    FIXED_REPS=3
    FIXED_SECS=3
fi

NS=tdb$$
S=$NS-s
G=$NS-g
GEN_IP=10.219.0.2
PEER=$GEN_IP:4000
CLIENTS=10.219.16.0/20                  # turnload's 4096 client addresses
declare -A IP=([floor]=10.219.0.11 [turnd]=10.219.0.12
               [coturn]=10.219.0.13 [offload]=10.219.0.14)
declare -A PID=()
RESULTS=$W/results.txt


cleanup() {
    local name

    for name in "${!PID[@]}"; do
        stop_pid "${PID[$name]}" TERM
    done

    ip netns del "$S" 2>/dev/null
    ip netns del "$G" 2>/dev/null
}


net_up() {
    local name

    ip netns add "$S" && ip netns add "$G" \
        && ip link add "$S" netns "$S" type veth peer name "$G" netns "$G" \
        || return 1

    ip -n "$S" link set lo up
    ip -n "$G" link set lo up
    ip -n "$G" addr add "$GEN_IP/24" dev "$G"

    for name in "${!IP[@]}"; do
        ip -n "$S" addr add "${IP[$name]}/24" dev "$S"
    done

    ip -n "$S" link set "$S" up
    ip -n "$G" link set "$G" up

    # the clients' addresses: local in the generator's namespace
    ip -n "$G" route add local "$CLIENTS" dev lo
    ip -n "$S" route add "$CLIENTS" via "$GEN_IP"

    # each side's receive work on its own core
    ip netns exec "$S" sh -c "printf %x $((1 << SRV_CPU)) \
        > /sys/class/net/$S/queues/rx-0/rps_cpus" \
    && ip netns exec "$G" sh -c "printf %x $((1 << GEN_CPU)) \
        > /sys/class/net/$G/queues/rx-0/rps_cpus"
}


write_conf() {
    local name=$1

    cat > "$W/$name.conf" <<EOF
# written by bench/offload.sh: the same settings for the TURN servers
listening-ip=${IP[$name]}
listening-port=3478
relay-ip=${IP[$name]}
min-port=40000
max-port=59999
realm=bench
lt-cred-mech
user=bench:benchpw
allowed-peer-ip=$GEN_IP
relay-threads=1
no-tls
no-dtls
no-cli
no-stdout-log
log-file=$W/$name.log
pidfile=$W/$name.pid
EOF

    case $name in
    turnd|offload)
        echo "unauth-rate=0" >> "$W/$name.conf"
        echo "kernel-offload=$([ "$name" = offload ] && echo on || echo off)" \
            >> "$W/$name.conf"
        ;;
    coturn)
        printf '%s\n' simple-log "userdb=$W/coturn.db" no-auth-pings \
            no-dynamic-ip-list no-dynamic-realms >> "$W/$name.conf"
        ;;
    esac
}


start_server() {
    local name=$1 i

    write_conf "$name"

    case $name in
    floor)
        ip netns exec "$S" taskset -c "$SRV_CPU" "$B/udpfwd" \
            -l "${IP[$name]}:3478" -p "$PEER" -t 3600 \
            > "$W/$name.out" 2>&1 &
        ;;
    turnd|offload)
        ip netns exec "$S" taskset -c "$SRV_CPU" "$W/turnd" \
            -c "$W/$name.conf" > "$W/$name.out" 2>&1 &
        ;;
    coturn)
        ip netns exec "$S" taskset -c "$SRV_CPU" "$TURNSERVER" \
            -c "$W/coturn.conf" > "$W/$name.out" 2>&1 &
        ;;
    esac

    PID[$name]=$!

    for i in $(seq 50); do
        kill -0 "${PID[$name]}" 2>/dev/null || break

        if ip netns exec "$S" ss -Hlun "src ${IP[$name]}:3478" \
               | grep -q .
        then
            sleep 0.3
            return 0
        fi

        sleep 0.1
    done

    log "$name did not start:"
    tail -5 "$W/$name.out" >&2
    unset "PID[$name]"
    return 1
}


# one cell: the search for the highest rate under 0.1% loss, then the
# fixed load in FIXED_REPS short runs
cell() {
    local name=$1 size=$2 rep args

    args=(-m relay -s "${IP[$name]}:3478" -P "$PEER" -C "${CLIENTS%.0/*}.1"
          -u bench -U benchpw -p "${PID[$name]}" -c "$SRV_CPU"
          -g "$GEN_CPU" -n "$N" -z "$size" -T 170)
    [ "$name" = floor ] && args+=(--raw)

    log "$name, $N allocations, $size bytes"

    ip netns exec "$G" taskset -c "$GEN_CPU" timeout -k 5 180 \
        "$B/turnload" "${args[@]}" -S -a 30000 -D "$STEP_SECS" -W 0.5 \
        -l "$name.s$size" > "$W/cell.out" 2>> "$W/turnload.err"

    # the fixed load: the server process's CPU and the softirq time of
    # the server's core around each run (/proc, in ticks)
    for rep in $(seq "$FIXED_REPS"); do
        a=$(server_ticks "${PID[$name]}")
        ip netns exec "$G" taskset -c "$GEN_CPU" timeout -k 5 60 \
            "$B/turnload" "${args[@]}" -r "$FIXED_RTPS" -d "$FIXED_SECS" \
            -W 0.3 -l "$name.s$size.f$rep" > "$W/fixed.out" \
            2>> "$W/turnload.err"
        b=$(server_ticks "${PID[$name]}")
        echo "CPU $a $b" | cat - "$W/fixed.out" >> "$W/cell.out"
    done

    grep -E '^(SEARCH|ERROR)' "$W/cell.out" | sed 's/^/  /' >&2

    # core-seconds of the server's core per million relayed packets
    awk -v s="$name" -v z="$size" '
        function kv(line, key) {
            if (match(line, " " key "=[^ ]*"))
                return substr(line, RSTART + length(key) + 2,
                              RLENGTH - length(key) - 2);
            return "";
        }
        /^CPU / { proc = $4 - $2; soft = $5 - $3 }
        /^STEP/ && / phase=fixed/ && kv($0, "rx") > 0 {
            n = (kv($0, "peer_rx") + kv($0, "rx")) / 1e6
            print s, z, "core", (proc + soft) / '"$(getconf CLK_TCK)"' / n
            print s, z, "soft", soft / '"$(getconf CLK_TCK)"' / n
            print s, z, "proc", kv($0, "cpu_s_per_mpkt");
            print s, z, "loss", kv($0, "loss");
        }
        /^SEARCH/ { print s, z, "max", kv($0, "best_relayed_pps");
                    print s, z, "limit", kv($0, "limit") }
    ' "$W/cell.out" >> "$RESULTS"
}


# "PROCESS SOFTIRQ" ticks: the server process (user + system) and the
# softirq column of the server's core
server_ticks() {
    awk -v p="$(cpu_ticks "$1")" -v c="cpu$SRV_CPU" \
        '$1 == c { print p, $8 }' /proc/stat
}


report() {
    awk -v sizes="$SIZES" '
        function med(k,   n, i, j, t, v) {
            n = cnt[k]
            if (n == 0) return ""
            for (i = 1; i <= n; i++) v[i] = val[k, i]
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        { k = $1 SUBSEP $2 SUBSEP $3; val[k, ++cnt[k]] = $4; seen[$1] = 1 }
        END {
            split("floor turnd coturn offload", order, " ")
            name["offload"] = "turnd+offload"
            nz = split(sizes, sz, " ")
            for (z = 1; z <= nz; z++) {
                printf "\nUDP, %s B, 50 allocations        floor      turnd" \
                       "     coturn  turnd+offload\n", sz[z]
                printf "%-32s", "highest rate, kpps (<0.1% loss)"
                for (i = 1; i <= 4; i++) {
                    v = med(order[i] SUBSEP sz[z] SUBSEP "max")
                    printf " %10s", v == "" ? "-" : sprintf("%.1f", v / 1000)
                }
                printf "\n%-32s", "  limited by"
                for (i = 1; i <= 4; i++) {
                    v = med(order[i] SUBSEP sz[z] SUBSEP "limit")
                    printf " %10s", v == "" ? "-" : v
                }
                printf "\n%-32s", "server CPU s / Mpkt, + softirq"
                for (i = 1; i <= 4; i++) {
                    v = med(order[i] SUBSEP sz[z] SUBSEP "core")
                    printf " %10s", v == "" ? "-" : sprintf("%.3f", v)
                }
                printf "\n%-32s", "  of which softirq"
                for (i = 1; i <= 4; i++) {
                    v = med(order[i] SUBSEP sz[z] SUBSEP "soft")
                    printf " %10s", v == "" ? "-" : sprintf("%.3f", v)
                }
                printf "\n%-32s", "  turnload: process + ksoftirqd"
                for (i = 1; i <= 4; i++) {
                    v = med(order[i] SUBSEP sz[z] SUBSEP "proc")
                    printf " %10s", v == "" ? "-" : sprintf("%.3f", v)
                }
                printf "\n"
                oc = med("offload" SUBSEP sz[z] SUBSEP "core")
                cc = med("coturn" SUBSEP sz[z] SUBSEP "core")
                om = med("offload" SUBSEP sz[z] SUBSEP "max")
                fm = med("floor" SUBSEP sz[z] SUBSEP "max")
                if (oc != "" && cc + 0 > 0) {
                    printf "turnd+offload / coturn, CPU per Mpkt: %.2f " \
                           "(goal <= 0.33)\n", oc / cc
                    printf "BENCH name=offload_cpu_vs_coturn.s%s " \
                           "value=%.3f\n", sz[z], oc / cc > "/dev/stderr"
                }
                if (om != "" && fm + 0 > 0) {
                    printf "turnd+offload / floor, highest rate: %.2f " \
                           "(goal >= 2)\n", om / fm
                    printf "BENCH name=offload_rate_vs_floor.s%s " \
                           "value=%.3f\n", sz[z], om / fm > "/dev/stderr"
                }
            }
        }
    ' "$RESULTS"
}


[ "$(id -u)" = 0 ] || { log "needs root (ip netns)"; exit 1; }
[ -x "$B/turnload" ] && [ -x "$B/udpfwd" ] \
    || { log "build/bench/turnload and udpfwd first (bench/run.sh)"; exit 1; }
[ -x "$TURND" ] || { log "no $TURND (make turnd)"; exit 1; }
[ -n "$TURNSERVER" ] || SERVERS=${SERVERS/coturn/}

rm -rf "$W"
mkdir -p "$W"
: > "$RESULTS"
cp "$TURND" "$W/turnd"

trap cleanup EXIT
trap 'exit 130' INT TERM

net_up || { log "cannot set up the namespaces"; exit 1; }

echo "# bench/offload.sh $(date -u +%FT%TZ) QUICK=$QUICK, $(uname -sr)," \
     "server on cpu $SRV_CPU, generator on cpu $GEN_CPU, veth between" \
     "two namespaces; fixed load $((FIXED_RTPS * 2)) relayed pkt/s"

for size in $SIZES; do
    for name in $SERVERS; do
        # one server at a time: the program looks at every packet of the
        # interface, the others' too, while turnd+offload runs
        start_server "$name" || continue

        if [ "$name" = offload ] \
           && ! grep -q "kernel offload on" "$W/offload.log"
        then
            log "turnd+offload: $(grep -o 'kernel offload.*' \
                                  "$W/offload.log")"
        fi

        cell "$name" "$size"
        stop_pid "${PID[$name]}" TERM
        unset "PID[$name]"

        # turnd's exit summary: the relayed packets, how many in the kernel
        [ "$name" = offload ] && grep -o 'stats: .*packets from/to clients' \
            "$W/offload.log" | tail -1 | sed 's/^/  /' >&2
    done
done

report 2> "$W/bench.txt" | tee "$W/table.txt"
echo
cat "$W/bench.txt"
