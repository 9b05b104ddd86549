#
# bench/report.awk: the table of bench/run.sh, from its results file
# ("server cell round key value" lines), with bench/lib.awk.  The table
# goes to stdout, the "BENCH name=... value=..." lines to bench_out
# (run.sh: stderr).  Several rounds give the median.  -v hold=N is the
# number of allocations held for the memory figure.
#

# what ran out first at the step above the max (see the legend)
function tag(s, c) {
    if (c == "mem") {
        if (last(s, c, "storm_srv_busy") + 0 >= 0.95 ||
            last(s, c, "storm_core_srv") + 0 >= 0.97)
        {
            return " S"
        }

        if (last(s, c, "storm_gen_busy") + 0 >= 0.95 ||
            last(s, c, "storm_core_gen") + 0 >= 0.97)
        {
            return " G"
        }

        return ""
    }

    return limit_tag(last(s, c, "limit"))
}

function tagged(k) {
    return k == "max" || k == "cycles_per_s"
}

# "~": measured while something else used the machine
function noisy(s, c, k) {
    if (c == "mem") {
        if (k ~ /^(cycles_per_s|storm_cpu_us)$/ &&
            last(s, c, "storm_noise") + 0 > 0.15)
        {
            return "~"
        }
        return ""
    }

    if (k == "max") {
        return (last(s, c, "noisy_steps") + 0 > 0) ? "~" : ""
    }

    return (get(s, c, "fixed_noise") + 0 > 0.15) ? "~" : ""
}

function cellv(s, c, k, unit, v) {
    if (v == "") return "-"
    return noisy(s, c, k) fmt(v, unit) (tagged(k) ? tag(s, c) : "")
}

function row(label, c, k, unit,   f, t, o) {
    f = get("floor", c, k)
    t = get("turnd", c, k)
    o = get("coturn", c, k)

    printf "%-34s %10s %10s %10s %9s %9s\n", label,
        cellv("floor", c, k, unit, f), cellv("turnd", c, k, unit, t),
        cellv("coturn", c, k, unit, o), ratio(t, o), ratio(t, f)

    bench(c "." k, f, t, o)
}

function bunit(name) {
    if (name ~ /\.max$/) return "pkt/s"
    if (name ~ /\.cpu$/) return "s/Mpkt"
    if (name ~ /(p50|p99|p99_all|_us)$/) return "us"
    if (name ~ /cycles_per_s$/) return "cycles/s"
    if (name ~ /bytes_per_alloc$/) return "B"
    if (name ~ /_kb$/) return "kB"
    return ""
}

function bench(name, f, t, o,   unit) {
    unit = bunit(name)

    if (f != "") bench_line("floor." name, f, unit)
    if (t != "") bench_line("turnd." name, t, unit)
    if (o != "") bench_line("coturn." name, o, unit)

    if (t != "" && o != "" && o + 0 != 0) {
        bench_line("ratio.turnd_coturn." name, sprintf("%.3f", t / o), "")
    }

    if (t != "" && f != "" && f + 0 != 0) {
        bench_line("ratio.turnd_floor." name, sprintf("%.3f", t / f), "")
    }
}

# a ratio per cell, and their geometric mean (robust to one noisy cell)
function goal_cells(what, a, ka, b, kb, op, target, cells,
                    x, c, t, f, n, lsum, note)
{
    n = 0
    lsum = 0

    for (x = 1; x <= nord; x++) {
        c = ord[x]
        if (c !~ cells) continue

        t = get(a, c, ka)
        f = get(b, c, kb)
        note = ""

        if (what == "max_rate_vs_floor" &&
            (last(b, c, "limit") == "generator" ||
             last(b, c, "limit") == "both"))
        {
            note = "  (floor max generator-bound)"
        }

        if (t == "" || f == "" || f + 0 == 0) {
            goal_row(what "." c, "", op, target, "")
            continue
        }

        goal_row(what "." c, t / f, op, target, note)
        n++
        lsum += log(t / f)
    }

    if (n > 1) {
        goal_row(what ".geomean", exp(lsum / n), op, target, "")
    }
}

{
    add_result($1, $2, $4, $5)
    if ($2 != "mem") cells[$2] = 1
}

END {
    printf "%-34s %10s %10s %10s %9s %9s\n", "figure", "floor", "turnd",
        "coturn", "t/coturn", "t/floor"
    printf "%-34s %10s %10s %10s %9s %9s\n", "------", "-----", "-----",
        "------", "--------", "-------"

    nc = split("udp tcp", trs, " ")
    ns = split("1 50 500", cnts, " ")
    nz = split("200 1200", szs, " ")

    for (a = 1; a <= nc; a++) {
        for (b = 1; b <= ns; b++) {
            for (d = 1; d <= nz; d++) {
                c = trs[a] ".n" cnts[b] ".s" szs[d]
                if (!(c in cells)) continue

                ord[++nord] = c
                h = sprintf("%s n=%s %sB", trs[a], cnts[b], szs[d])

                row(h " max kpps", c, "max", "kpps")
                row(h " CPU s/M pkt @100k", c, "cpu", "s")
                row(h " RTT p50 us @100k", c, "p50", "us")
                row(h " RTT p99 us @100k", c, "p99", "us")
                bench(c ".p99_all", get("floor", c, "p99_all"),
                      get("turnd", c, "p99_all"), get("coturn", c, "p99_all"))
            }
        }
    }

    row("alloc cycles/s (Allocate..Refresh0)", "mem", "cycles_per_s", "n")
    row("server CPU us per alloc cycle", "mem", "storm_cpu_us", "us")
    row("memory per live allocation, kB", "mem", "bytes_per_alloc", "kB")
    row("RSS idle, MB", "mem", "idle_kb", "MB")
    row("RSS with " hold " allocations, MB", "mem", "live_kb", "MB")
    row("RSS after deleting them, MB", "mem", "release_kb", "MB")
    row("RSS 2 s after the storm, MB", "mem", "storm_kb", "MB")

    print ""
    print "max kpps: the highest rate with loss <= 0.1%, at least 98% of it"
    print "sent on time, and a median round trip <= 2 ms (no standing queue;"
    print "over TCP that is how overload shows).  Rates count relayed packets"
    print "(client->peer plus peer->client).  What ran out first at the next"
    print "step up: S = the server, G = the generator, B = both, D = neither"
    print "saturated (a burst overflowed a queue), P = TCP backpressure, C ="
    print "rate cap.  On alloc cycles/s: S/G = that side (or its core) was"
    print "at least 95% (97%) busy."
    print "CPU s/M pkt and RTT: at a fixed 100k relayed pkt/s, the median of"
    print "short runs in which the servers take turns.  RTT p99: the median"
    print "over 100 ms windows of the p99 of each; the p99 of a whole run"
    print "(p99_all in the BENCH lines) is mostly rare stalls of the host."
    print "~ = something else used > 15% of a core while it was measured."
    print ""
    print "Goals (turnd):"

    goal_cells("cpu_vs_floor", "turnd", "cpu", "floor", "cpu", "<=", 1.15,
               "^udp")
    goal_cells("cpu_vs_floor_tcp", "turnd", "cpu", "floor", "cpu", "<=",
               1.15, "^tcp")
    goal_cells("max_rate_vs_floor", "turnd", "max", "floor", "max", ">=",
               0.85, "^udp")
    goal_cells("max_rate_vs_floor_tcp", "turnd", "max", "floor", "max", ">=",
               0.85, "^tcp")
    goal_cells("p99_vs_coturn", "turnd", "p99", "coturn", "p99", "<=", 1.0,
               "")

    t = get("turnd", "mem", "cycles_per_s")
    o = get("coturn", "mem", "cycles_per_s")
    goal_row("alloc_rate_vs_coturn", (t != "" && o != "") ? t / o : "",
             ">=", 5, "")

    t = get("turnd", "mem", "bytes_per_alloc")
    o = get("coturn", "mem", "bytes_per_alloc")
    goal_row("mem_per_alloc_vs_coturn", (t != "" && o != "") ? t / o : "",
             "<=", 0.125, "")

    t = get("turnd", "mem", "storm_kb")
    i = get("turnd", "mem", "idle_kb")
    goal_row("rss_after_storm_minus_idle_MB",
             (t != "" && i != "") ? (t - i) / 1024 : "", "<=", 2, "")
}
