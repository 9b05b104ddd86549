# The TLS part of bench/run.sh (sourced by it: PARTS=tls).  turnd's and
# coturn's TLS listeners side by side, and turnd behind nginx's stream
# hop as README's "Deploying: one port 443" sets it up (ssl_preread,
# proxy_protocol, proxy_bind; turnd's proxy-protocol-from), all with the
# same fresh self-signed RSA-2048 certificate and the default cipher lists:
#
#   handshakes   HS_CONC clients connect, do a full TLS handshake (no
#                resumption) and one Binding inside, close; handshakes/s
#                and server CPU per handshake (turnd's schedstat; for the
#                hop, nginx's worker's and turnd's), TLS 1.2 and 1.3
#                (coturn 4.6.1 has no TLS 1.3: n/a)
#   relay        ChannelData over TLS 1.2 to a UDP peer: the highest rate
#                under 0.1% loss and CPU per million packets at a fixed
#                load, TLS_COUNTS clients x TLS_SIZES bytes
#   memory       RSS per idle authenticated allocation over TLS and over
#                plain TCP (the difference is what TLS costs), on fresh
#                servers, TLS_HOLD_N at once
#
# Servers and nginx run on SRV_CPU (the hop's nginx shares turnd's core:
# the hop's cost is on the server), the generator on GEN_CPU.  Every
# turnload run is bounded (timeout); rounds alternate who goes first.

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
STREAM_MODULE=${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
HOP_SRC=$NET.3.2
HOP_PID=
HOP_WORKER=

TLS_RELAY_VERSION=${TLS_RELAY_VERSION:-1.2}    # coturn 4.6.1's highest
START_RTPS_TLS=${START_RTPS_TLS:-10000}
FIXED_RTPS_TLS=${FIXED_RTPS_TLS:-15000}
HS_CONC=${HS_CONC:-32}

if [ "$QUICK" = 1 ]; then
    TLS_COUNTS=${TLS_COUNTS:-50}
    TLS_SIZES=${TLS_SIZES:-200}
    HS_SECS=${HS_SECS:-1}
    HS_ROUNDS=${HS_ROUNDS:-2}
    TLS_HOLD_N=${TLS_HOLD_N:-1000}
else
    TLS_COUNTS=${TLS_COUNTS:-"1 50"}
    TLS_SIZES=${TLS_SIZES:-"200 1200"}
    HS_SECS=${HS_SECS:-2}
    HS_ROUNDS=${HS_ROUNDS:-3}
    TLS_HOLD_N=${TLS_HOLD_N:-2000}
fi


# a certificate of the run's own, the same file for both servers
tls_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=turn.bench \
        -keyout "$W/key.pem" -out "$W/cert.pem" 2> "$W/openssl.err" \
        || die "cannot make a certificate: $(cat "$W/openssl.err")"
}


# nginx's stream module on the hop's address, in front of turnd
start_hop() {
    local d=$W/hop t=${IP[turnd]}

    [ -f "$STREAM_MODULE" ] || { log "no $STREAM_MODULE: no hop"; return 1; }

    mkdir -p "$d"
    {
        echo "# written by bench/tls.sh: README's \"Deploying: one port 443\""
        nginx_preamble "$d" "$STREAM_MODULE" warn
    } > "$d/nginx.conf"

    cat >> "$d/nginx.conf" <<EOF
stream {
    map \$ssl_preread_alpn_protocols \$trtc_tls_upstream {
        ~\\bstun\\.turn\\b        $t:5349;
        ~\\b(h2|http/1\\.1)\\b    127.0.0.1:1;       # no HTTPS here
        default                $t:5349;
    }
    map \$ssl_preread_protocol \$trtc_upstream {
        ""                     $t:3478;
        default                \$trtc_tls_upstream;
    }
    server {
        listen ${IP[hop]}:${TLS_PORT[hop]} backlog=4096;
        ssl_preread on;
        proxy_pass \$trtc_upstream;
        proxy_protocol on;
        proxy_bind $HOP_SRC;
    }
}
EOF

    nginx_start "$d" "$SRV_CPU"
    HOP_PID=${NGX_PID:-}
    HOP_WORKER=${NGX_WORKER:-}

    if [ -z "$HOP_WORKER" ] || ! wait_listen "$HOP_WORKER" tcp \
                                     "${IP[hop]}:${TLS_PORT[hop]}"
    then
        log "nginx's stream hop does not listen"
        stop_hop
        return 1
    fi

    # the relay matrix measures whoever has a pid
    PID[hop]=$HOP_PID
}


stop_hop() {
    # nginx's master stops its workers on QUIT
    stop_pid "$HOP_PID" QUIT
    unset "PID[hop]"
    HOP_PID=
    HOP_WORKER=
}


# one handshake measurement: version, server, round
hs_cell() {
    local v=$1 name=$2 round=$3 cell="hs${1/./}"

    gen hs.out 'HANDSHAKE|ERROR|TLS' 60 -m handshake --tls \
        --tls-version "$v" -s "$(target "$name" tls)" \
        -p "$(server_pids "$name")" -k "$HS_CONC" -d "$HS_SECS" -T 50 \
        -l "$name.$cell.r$round"

    bench_awk -v s="$name" -v c="$cell" -v r="$round" '
        /^HANDSHAKE/ && / phase=allocrate / {
            print s, c, r, "rate", kv($0, "cycles_per_s");
            print s, c, r, "cpu_us", kv($0, "srv_cpu_us_per_cycle");
            print s, c, r, "failed", kv($0, "failed");
            print s, c, r, "srv_busy", kv($0, "srv_busy");
            print s, c, r, "gen_busy", kv($0, "gen_busy");
            print s, c, r, "noise", kv($0, "noise");
        }
    ' "$W/hs.out" >> "$RESULTS"
}


# RSS per idle allocation over TLS or TCP, on a fresh server
tls_memory() {
    local name=$1 tr=$2 args=(--tcp)

    [ "$tr" = tls ] && args=(--tls --tls-version "$TLS_RELAY_VERSION")

    start_server "$name" || return 1
    wait_listen "${PID[$name]}" tcp "$(target "$name" tls)"
    sleep 1

    gen hold.out 'SETUP|HOLD|ERROR' 120 -m hold "${args[@]}" \
        -s "$(target "$name" "$tr")" -p "${PID[$name]}" -n "$TLS_HOLD_N" \
        -T 110 -l "$name.hold.$tr"

    bench_awk -v s="$name" -v c="mem$tr" '
        /^HOLD/ {
            print s, c, 0, "bytes_per_conn", kv($0, "bytes_per_alloc");
            print s, c, 0, "held", kv($0, "ready");
            print s, c, 0, "idle_kb", kv($0, "idle_rss_kb");
            print s, c, 0, "live_kb", kv($0, "live_rss_kb");
        }
    ' "$W/hold.out" >> "$RESULTS"

    stop_server "$name"
}


tls_part() {
    local servers=() name v round i k order

    WITH_TLS=1
    tls_cert

    {
        echo "# TLS part: cert RSA-2048 (fresh, self-signed), default cipher"
        echo "# lists; relay and memory over TLS $TLS_RELAY_VERSION;" \
             "handshakes $HS_CONC clients, $HS_ROUNDS rounds of ${HS_SECS}s;"
        echo "# hop: nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') stream" \
             "(ssl_preread, proxy_protocol) on cpu $SRV_CPU with turnd"
    } | tee "$W/tls-header.txt"

    for name in turnd coturn; do
        case " $SERVERS " in *" $name "*) ;; *) continue ;; esac
        start_server "$name" || continue
        wait_listen "${PID[$name]}" tcp "$(target "$name" tls)" \
            || { log "$name: no TLS listener"; stop_server "$name";
                 continue; }
        servers+=("$name")
    done

    if [ -n "${PID[turnd]:-}" ] && start_hop; then
        servers+=(hop)
    fi

    log "TLS servers: ${servers[*]}"

    # handshakes: rounds alternate the order of the servers
    k=0
    for round in $(seq "$HS_ROUNDS"); do
        for v in 1.3 1.2; do
            order=()
            for i in $(seq ${#servers[@]}); do
                order+=("${servers[$(( (i - 1 + k) % ${#servers[@]} ))]}")
            done
            k=$((k + 1))

            for name in "${order[@]}"; do
                # coturn 4.6.1 speaks TLS 1.2 at most
                [ "$name" = coturn ] && [ "$v" = 1.3 ] && continue
                wait_quiet
                log "handshakes TLS $v round $round: $name"
                hs_cell "$v" "$name" "$round"
            done
        done
    done

    # the relay matrix over TLS, the same loop as UDP's and TCP's
    SERVERS="${servers[*]}" TRANSPORTS=tls COUNTS=$TLS_COUNTS \
        SIZES=$TLS_SIZES DEADLINE=$((SECONDS + 900)) relay_matrix

    stop_hop
    for name in turnd coturn; do
        stop_server "$name"
    done

    for name in turnd coturn; do
        case " ${servers[*]} " in *" $name "*) ;; *) continue ;; esac
        for v in tls tcp; do
            log "memory per idle $v allocation: $name"
            tls_memory "$name" "$v"
        done
    done
}


tls_report() {
    awk -v hold="$TLS_HOLD_N" -v conc="$HS_CONC" -v bench_out=/dev/stderr \
        -v fixed=$((FIXED_RTPS_TLS * 2)) -f "$ROOT/bench/lib.awk" \
        -f "$ROOT/bench/tls_report.awk" "$RESULTS"
}
