# shellcheck shell=bash
# Start, find and stop the fleet's daemons for scripts/quickstart. Each process gets a pid
# file, a log and a ready file under the fleet folder; start-up waits for the ready file
# (written by the daemon once it serves), never for a fixed sleep.

# oks_fleet_start DIR NAME BINARY [ARGS...]
oks_fleet_start() {
    local dir=$1 name=$2 exe=$3
    shift 3
    mkdir -p "$dir"
    rm -f "$dir/$name.ready"
    "$exe" --ready-file "$dir/$name.ready" "$@" >>"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
    local i
    for i in $(seq 1 300); do
        [ -s "$dir/$name.ready" ] && { echo "$name running (pid $(cat "$dir/$name.pid"))"; return 0; }
        kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "$name failed to start; last log lines ($dir/$name.log):" >&2
    tail -5 "$dir/$name.log" >&2
    return 1
}

# oks_fleet_addr DIR NAME KEY -> value of KEY= in the ready file, as a URL for http.
oks_fleet_addr() {
    local v
    v=$(sed -n "s/^$3=//p" "$1/$2.ready" | head -1)
    case "$v" in http*) echo "$v" ;; *) echo "http://$v" ;; esac
}

oks_fleet_stop() {
    local dir=$1 pidf pid name i
    for pidf in "$dir"/*.pid; do
        [ -e "$pidf" ] || continue
        pid=$(cat "$pidf"); name=$(basename "$pidf" .pid)
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            echo "$name stopped"
        fi
        rm -f "$pidf" "$dir/$name.ready"
    done
}

oks_fleet_status() {
    local dir=$1 pidf rc=0
    for pidf in "$dir"/*.pid; do
        [ -e "$pidf" ] || { echo "fleet not running"; return 1; }
        if kill -0 "$(cat "$pidf")" 2>/dev/null; then
            echo "$(basename "$pidf" .pid): running (pid $(cat "$pidf"))"
        else
            echo "$(basename "$pidf" .pid): DOWN"; rc=1
        fi
    done
    return $rc
}
