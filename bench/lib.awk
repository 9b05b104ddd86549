#
# bench/lib.awk: functions shared by the benchmarks' reports (loaded with
# "awk -f bench/lib.awk -f REPORT.awk").  Values go in cnt[key] and
# val[key, i] (see add_value()); BENCH lines go to bench_out (default
# stdout; -v bench_out=/dev/stderr to keep them apart from the table).
#

# one more value of key, for median() and spread()
function add_value(key, v) {
    cnt[key]++
    val[key, cnt[key]] = v
}

function median(key,   n, i, j, t, v) {
    n = cnt[key]
    if (n == 0) {
        return ""
    }

    for (i = 1; i <= n; i++) {
        v[i] = val[key, i]
    }

    for (i = 1; i <= n; i++) {
        for (j = i + 1; j <= n; j++) {
            if (v[j] + 0 < v[i] + 0) {
                t = v[i]; v[i] = v[j]; v[j] = t
            }
        }
    }

    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# the highest value of key: a rate's least disturbed round
function best(key,   n, i, m) {
    n = cnt[key]
    if (n == 0) {
        return ""
    }

    m = val[key, 1]
    for (i = 2; i <= n; i++) {
        if (val[key, i] + 0 > m + 0) m = val[key, i]
    }

    return m
}

# (max - min) / median: the noise a ratio should be read against
function spread(key,   n, i, lo, hi, m) {
    n = cnt[key]
    m = median(key)
    if (n < 2 || m + 0 == 0) {
        return ""
    }

    lo = hi = val[key, 1]
    for (i = 2; i <= n; i++) {
        if (val[key, i] + 0 < lo + 0) lo = val[key, i]
        if (val[key, i] + 0 > hi + 0) hi = val[key, i]
    }

    return (hi - lo) / m
}

# the value of key= in a "KIND key=value ..." line of a generator
function kv(line, key) {
    if (match(line, " " key "=[^ ]*")) {
        return substr(line, RSTART + length(key) + 2,
                      RLENGTH - length(key) - 2)
    }

    return ""
}

# "1.23x", or "-" when either side is missing
function ratio(a, b) {
    if (a == "" || b == "" || b + 0 == 0) return "-"
    return sprintf("%.2fx", a / b)
}

function bench_line(name, value, unit,   out) {
    out = (bench_out == "") ? "/dev/stdout" : bench_out

    if (unit == "") {
        printf "BENCH name=%s value=%s\n", name, value > out
    } else {
        printf "BENCH name=%s value=%s unit=%s\n", name, value, unit > out
    }
}

# the BENCH line of a goal; returns 1 if met, 0 if not, -1 without a value
function bench_goal(name, v, op, target,   out, ok) {
    out = (bench_out == "") ? "/dev/stdout" : bench_out

    if (v == "") {
        printf "BENCH name=%s value= target=%s%s pass=n/a\n", name, op,
            target > out
        return -1
    }

    ok = (op == "<=") ? (v <= target) : (v >= target)
    printf "BENCH name=%s value=%.4f target=%s%s pass=%s\n", name, v, op,
        target, ok ? "yes" : "no" > out

    return ok
}

# a goal as a line of the table and a BENCH line
function goal_row(name, v, op, target, note,   ok) {
    ok = bench_goal("goal." name, v, op, target)

    if (ok < 0) {
        printf "  %-40s %8s\n", name, "n/a"
        return
    }

    printf "  %-40s %8.3f  %s %-5s  %s%s\n", name, v, op, target,
        ok ? "met" : "NOT MET", note
}


# bench/run.sh's results ("server cell round key value" lines): every
# value of a key (for medians over rounds), and the last one
function add_result(s, c, k, v) {
    add_value(s SUBSEP c SUBSEP k, v)
    lastv[s SUBSEP c SUBSEP k] = v
}

function get(s, c, k) {
    return median(s SUBSEP c SUBSEP k)
}

function last(s, c, k) {
    return lastv[s SUBSEP c SUBSEP k]
}

function fmt(v, unit) {
    if (v == "") return "-"
    if (unit == "kpps") return sprintf("%.1f", v / 1000)
    if (unit == "s") return sprintf("%.2f", v)
    if (unit == "kB") return sprintf("%.2f", v / 1000)
    if (unit == "MB") return sprintf("%.1f", v / 1024)
    return sprintf("%.0f", v)
}

# a rate search's "limit=" as the table's letter (see report.awk's legend)
function limit_tag(l) {
    if (l == "server") return " S"
    if (l == "generator") return " G"
    if (l == "both") return " B"
    if (l == "drops" || l == "other") return " D"
    if (l == "server-backpressure") return " P"
    if (l == "cap") return " C"
    return ""
}
