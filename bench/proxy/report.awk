#
# bench/proxy/report.awk: the table of bench/proxy/run.sh, from its results
# file ("figure variant round key value" lines; variant a is
# trtc_signaling_pass, b the hand-written proxy_pass).  Each column is the
# median over the rounds; the ratio is the median of the rounds' own a/b
# ratios (a round's two runs are next to each other in time, so drift of
# the machine cancels better than in a ratio of medians); "spread" is
# (max - min) / median of each variant's rounds, the noise the ratio
# should be read against.  The table and the "BENCH name=... value=..."
# lines go to stdout.  Loaded after bench/lib.awk.
#

# the median of the rounds' a/b ratios of figure F's key K
function pratio(f, k,   r, n, i, j, t, v, ka, kb) {
    n = 0

    for (r = 1; r <= maxround; r++) {
        ka = f SUBSEP "a" SUBSEP k SUBSEP r
        kb = f SUBSEP "b" SUBSEP k SUBSEP r

        if (!(ka in byr) || !(kb in byr) || byr[kb] + 0 == 0) {
            continue
        }

        v[++n] = byr[ka] / byr[kb]
    }

    if (n == 0) {
        return ""
    }

    for (i = 1; i <= n; i++) {
        for (j = i + 1; j <= n; j++) {
            if (v[j] < v[i]) {
                t = v[i]; v[i] = v[j]; v[j] = t
            }
        }
    }

    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function num(v, d) {
    if (v == "") return "-"
    return sprintf("%." d "f", v)
}

function pct(v) {
    if (v == "") return "-"
    return sprintf("%.0f%%", v * 100)
}

function row(label, f, k, d,   a, b, r) {
    a = median(f SUBSEP "a" SUBSEP k)
    b = median(f SUBSEP "b" SUBSEP k)
    r = pratio(f, k)
    r = (r == "") ? "-" : sprintf("%.3f", r)

    printf "%-36s %19s %12s %7s %6s / %s\n", label, num(a, d), num(b, d), r,
        pct(spread(f SUBSEP "a" SUBSEP k)), pct(spread(f SUBSEP "b" SUBSEP k))
}

function cpu_row(label, f,   k, v, s) {
    for (k = 1; k <= 2; k++) {
        v = (k == 1) ? "a" : "b"
        s[k] = sprintf("%s/%s/%s",
            num(median(f SUBSEP v SUBSEP "cpu_nginx"), 0),
            num(median(f SUBSEP v SUBSEP "cpu_echo"), 0),
            num(median(f SUBSEP v SUBSEP "cpu_gen"), 0))
    }

    printf "%-36s %19s %12s\n", label, s[1], s[2]
}

function busy_row(label, f,   k, v, s, c, t, m) {
    for (k = 1; k <= 2; k++) {
        v = (k == 1) ? "a" : "b"
        t = ""

        for (c = 0; c < 8; c++) {
            m = median(f SUBSEP v SUBSEP "busy_cpu" c)
            if (m == "") break
            t = t (c ? "/" : "") num(m, 0)
        }

        s[k] = (t == "") ? "-" : t
    }

    printf "%-36s %19s %12s\n", label, s[1], s[2]
}

function bench(f, k, name, unit,   a, b, r) {
    a = median(f SUBSEP "a" SUBSEP k)
    b = median(f SUBSEP "b" SUBSEP k)
    r = pratio(f, k)

    if (a != "") bench_line("proxy.trtc_signaling_pass." name, a, unit)
    if (b != "") bench_line("proxy.proxy_pass." name, b, unit)
    if (r != "") bench_line("proxy.ratio." name, sprintf("%.3f", r), "")
}

function goal(f, k, name, op, target) {
    bench_goal("proxy.goal." name, pratio(f, k), op, target)
}

function add(f, v, k, r, x,   key) {
    key = f SUBSEP v SUBSEP k
    add_value(key, x)
    byr[f, v, k, r] = x

    if (r + 0 > maxround) {
        maxround = r + 0
    }
}

{
    add($1, $2, $4, $3, $5)

    # what nginx's worker spent per operation, in microseconds
    if ($4 == "rate") {
        rate[$1, $2, $3] = $5
    }

    if ($4 == "cpu_nginx") {
        cpu[$1, $2, $3] = $5
    }

    if ($4 == "errors" || $4 == "timeouts") {
        bad[$1, $2] += $5
    }
}

END {
    for (x in rate) {
        if ((x in cpu) && rate[x] + 0 > 0) {
            split(x, p, SUBSEP)
            add(p[1], p[2], "nginx_us", p[3], cpu[x] * 10000 / rate[x])
        }
    }

    # how much of the busy cores' time was not ours: other work, noise
    for (x in byr) {
        split(x, p, SUBSEP)
        if (p[3] ~ /^busy_cpu/) {
            busy += byr[x] / 100
        } else if (p[3] ~ /^sirq_cpu/) {
            sirq += byr[x] / 100
        } else if (p[3] ~ /^cpu_/) {
            ours += byr[x] / 100
        }
    }

    printf "\ntrtc_signaling_pass vs hand-written proxy_pass, same nginx " \
        "(1 worker, cpu %s),\n", ncpu
    printf "upstream %s (wsecho, cpu %s), generator wsload (cpu %s); " \
        "median of %s rounds of %s s\n\n", up, ecpu, gcpu, rounds, secs

    printf "%-36s %19s %12s %7s %13s\n", "figure", "trtc_signaling_pass",
        "proxy_pass", "ratio", "spread a / b"

    row(sprintf("handshakes/s (%s clients)", conc), "hs", "rate", 0)
    row("  handshake p50 (us)", "hs", "p50_us", 0)
    row("  handshake p99 (us)", "hs", "p99_us", 0)
    row("  nginx CPU per handshake (us)", "hs", "nginx_us", 1)
    cpu_row("  CPU % nginx/echo/generator", "hs")
    busy_row("  cores busy % (cpu0/cpu1/..., all)", "hs")

    row(sprintf("messages/s (%s sessions, %s B)", sessions, size), "msg",
        "rate", 0)
    row("  round trip p50 (us)", "msg", "p50_us", 0)
    row("  round trip p99 (us)", "msg", "p99_us", 0)
    row("  nginx CPU per message (us)", "msg", "nginx_us", 2)
    cpu_row("  CPU % nginx/echo/generator", "msg")
    busy_row("  cores busy % (cpu0/cpu1/..., all)", "msg")

    printf "%-36s %19d %12d\n", "errors + timeouts (all rounds)",
        bad["hs", "a"] + bad["msg", "a"], bad["hs", "b"] + bad["msg", "b"]

    # softirq time is mostly this loopback traffic, and not in any
    # process's time: not counted as other work
    other = busy - sirq - ours

    if (busy > 0 && other / busy > 0.1) {
        printf "\nNOTE: %.0f%% of the busy core time during the runs went " \
            "to other processes:\nthe machine was shared, the figures are " \
            "noisy.\n", 100 * other / busy
    }

    print ""
    print "ratio = trtc_signaling_pass / proxy_pass, the median of the " \
        "rounds' ratios:"
    print "above 1 is better for rates, below 1 for times and CPU.  CPU " \
        "is % of one"
    print "core over the window: nginx near 100% means nginx was the " \
        "limit.  \"cores"
    print "busy\" counts every process: a core near 100% with less of it " \
        "ours was"
    print "shared with other work (noise)."
    print ""

    bench("hs", "rate", "handshakes_per_s", "/s")
    bench("hs", "p50_us", "handshake_p50", "us")
    bench("hs", "p99_us", "handshake_p99", "us")
    bench("hs", "nginx_us", "nginx_cpu_per_handshake", "us")
    bench("msg", "rate", "messages_per_s", "/s")
    bench("msg", "p50_us", "rtt_p50", "us")
    bench("msg", "p99_us", "rtt_p99", "us")
    bench("msg", "nginx_us", "nginx_cpu_per_message", "us")

    # the issue's goal: no slower than hand-written, within noise (5%)
    goal("hs", "rate", "handshakes_per_s", ">=", 0.95)
    goal("msg", "rate", "messages_per_s", ">=", 0.95)
    goal("hs", "nginx_us", "nginx_cpu_per_handshake", "<=", 1.05)
    goal("msg", "nginx_us", "nginx_cpu_per_message", "<=", 1.05)
}
