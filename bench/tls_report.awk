#
# bench/tls_report.awk: the table of bench/run.sh's TLS part (bench/tls.sh)
# from its results file ("server cell round key value" lines), with
# bench/lib.awk.  Servers: turnd, coturn, hop (turnd behind nginx's stream
# hop; its CPU is nginx's worker's plus turnd's).  The table goes to
# stdout, the BENCH lines to bench_out.  -v hold=N (allocations held),
# conc (handshake clients), fixed (relayed pkt/s of the fixed load).
#

# "~": something else used the machine; S/G: the server's or the
# generator's side was the limit (95% busy) of a handshake rate
function mark(s, c, k, v, unit,   m, t) {
    if (v == "") return "-"

    m = ""
    t = ""

    if (c ~ /^hs/) {
        if (get(s, c, "noise") + 0 > 0.15) m = "~"
        if (k == "rate" && get(s, c, "srv_busy") + 0 >= 0.95) t = " S"
        else if (k == "rate" && get(s, c, "gen_busy") + 0 >= 0.95) t = " G"

    } else if (c ~ /^tls/) {
        if (k == "max") {
            if (last(s, c, "noisy_steps") + 0 > 0) m = "~"
            t = limit_tag(last(s, c, "limit"))
        } else if (get(s, c, "fixed_noise") + 0 > 0.15) {
            m = "~"
        }
    }

    return m fmt(v, unit) t
}

# a handshake rate is the best of the rounds (interference only slows
# it); everything else the median
function val_of(s, c, k) {
    if (c ~ /^hs/ && k == "rate") {
        return best(s SUBSEP c SUBSEP k)
    }

    return get(s, c, k)
}

function row(label, c, k, unit, name,   t, o, h) {
    t = val_of("turnd", c, k)
    o = val_of("coturn", c, k)
    h = val_of("hop", c, k)

    printf "%-36s %10s %10s %9s %10s %9s\n", label, mark("turnd", c, k, t,
        unit), mark("coturn", c, k, o, unit), ratio(t, o),
        mark("hop", c, k, h, unit), ratio(h, t)

    if (t != "") bench_line("tls.turnd." name, t, "")
    if (o != "") bench_line("tls.coturn." name, o, "")
    if (h != "") bench_line("tls.hop." name, h, "")

    if (t != "" && o != "" && o + 0 != 0) {
        bench_line("tls.ratio.turnd_coturn." name, sprintf("%.3f", t / o),
                   "")
    }

    if (t != "" && h != "" && t + 0 != 0) {
        bench_line("tls.ratio.hop_turnd." name, sprintf("%.3f", h / t), "")
    }
}

{
    add_result($1, $2, $4, $5)
    if ($2 ~ /^tls\./) cells[$2] = 1
}

END {
    printf "%-36s %10s %10s %9s %10s %9s\n", "figure (TURN over TLS)",
        "turnd", "coturn", "t/coturn", "hop", "hop/turnd"
    printf "%-36s %10s %10s %9s %10s %9s\n", "------", "-----", "------",
        "--------", "---", "---------"

    row("TLS 1.3 handshakes/s (" conc " clients)", "hs13", "rate", "n",
        "hs13.per_s")
    row("TLS 1.3 server CPU us/handshake", "hs13", "cpu_us", "n",
        "hs13.cpu_us")
    row("TLS 1.2 handshakes/s (" conc " clients)", "hs12", "rate", "n",
        "hs12.per_s")
    row("TLS 1.2 server CPU us/handshake", "hs12", "cpu_us", "n",
        "hs12.cpu_us")

    ns = split("1 50 500", cnts, " ")
    nz = split("200 1200", szs, " ")

    for (b = 1; b <= ns; b++) {
        for (d = 1; d <= nz; d++) {
            c = "tls.n" cnts[b] ".s" szs[d]
            if (!(c in cells)) continue

            ord[++nord] = c
            h = sprintf("tls n=%s %sB", cnts[b], szs[d])

            row(h " max kpps", c, "max", "kpps", c ".max")
            row(h " CPU s/M pkt @" fixed / 1000 "k", c, "cpu", "s",
                c ".cpu")
            row(h " RTT p50 us @" fixed / 1000 "k", c, "p50", "n",
                c ".p50")
            row(h " RTT p99 us @" fixed / 1000 "k", c, "p99", "n",
                c ".p99")
        }
    }

    row("memory per idle TLS allocation, kB", "memtls", "bytes_per_conn",
        "kB", "mem_per_tls_alloc")
    row("memory per idle TCP allocation, kB", "memtcp", "bytes_per_conn",
        "kB", "mem_per_tcp_alloc")

    print ""
    print "Handshakes: full ones (no resumption), a Binding inside each,"
    print "then close; RSA-2048; the rate is the best round's, the CPU the"
    print "median.  coturn 4.6.1 has no TLS 1.3.  S/G: that side was >= 95%"
    print "busy (what limited the rate).  Relay: ChannelData"
    print "over TLS 1.2 to a UDP peer; max kpps as in the main table (loss"
    print "<= 0.1%); CPU and RTT at a fixed " fixed / 1000 "k relayed pkt/s."
    print "hop: turnd behind nginx's stream module (ssl_preread,"
    print "proxy_protocol) on turnd's core; its CPU is nginx's + turnd's."
    print "Memory: RSS growth per allocation held idle (" hold " at once)."
    print "~ = something else used > 15% of a core while it was measured."
    print ""
    print "Goals (turnd vs coturn over TLS):"

    t = val_of("turnd", "hs12", "rate")
    o = val_of("coturn", "hs12", "rate")
    goal_row("tls_handshakes_vs_coturn", (t != "" && o != "") ? t / o : "",
             ">=", 1, "")

    t = get("turnd", "hs12", "cpu_us")
    o = get("coturn", "hs12", "cpu_us")
    goal_row("tls_cpu_per_handshake_vs_coturn",
             (t != "" && o != "" && o + 0 > 0) ? t / o : "", "<=", 1, "")

    n = 0
    lsum = 0
    for (x = 1; x <= nord; x++) {
        c = ord[x]
        t = get("turnd", c, "cpu")
        o = get("coturn", c, "cpu")

        if (t == "" || o == "" || o + 0 == 0) {
            goal_row("tls_cpu_vs_coturn." c, "", "<=", 0.8, "")
            continue
        }

        goal_row("tls_cpu_vs_coturn." c, t / o, "<=", 0.8, "")
        n++
        lsum += log(t / o)
    }

    if (n > 1) {
        goal_row("tls_cpu_vs_coturn.geomean", exp(lsum / n), "<=", 0.8, "")
    }

    t = get("turnd", "memtls", "bytes_per_conn")
    o = get("coturn", "memtls", "bytes_per_conn")
    goal_row("tls_mem_per_conn_vs_coturn",
             (t != "" && o != "" && o + 0 > 0) ? t / o : "", "<=", 0.25, "")
}
