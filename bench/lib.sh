# Shell helpers shared by the benchmark scripts (sourced, not run).

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
