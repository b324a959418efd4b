#!/usr/bin/env bash
# Memory per idle MQTT connection: starts a fresh broker on free 127.0.0.1 ports, opens N idle connections with the
# load generator's `idle` scenario (VmRSS of the broker's processes before and after), and with IDLE_GCDUMP=1 also
# takes managed heap dumps before connecting and while the connections are held, and prints the difference per type,
# per connection: dotnet-gcdump (which collects garbage first; its report has exact counts and totals, but one
# object's size per type), then dotnet-dump's `dumpheap -stat` of the same heap for the bytes of every type. Stops what it started on exit. Build first (Release: Silo, Gateway, Bench).
#
#   scripts/idle-memory.sh                          # embedded broker, 10,000 connections
#   IDLE_GCDUMP=1 scripts/idle-memory.sh embedded 10000
#   IDLE_GCDUMP=1 IDLE_WAIT=60 scripts/idle-memory.sh embedded 10000 Mqtt__Sessions__ParkAfter=00:00:10   # dumps once parked
#   scripts/idle-memory.sh silo+gateway 10000
#   scripts/idle-memory.sh embedded 10000 DOTNET_gcServer=0     # extra environment for the broker's processes
#   IDLE_GCDUMP=1 IDLE_KEEP_DUMPS=1 scripts/idle-memory.sh         # keeps the heap dumps (artifacts/idle/*.dmp) to read
#                                                                  # with dotnet-dump analyze
#
# Output (also in artifacts/idle/): the idle scenario's JSON line, and with IDLE_GCDUMP=1 the per-type table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
broker=${1:-embedded}
connections=${2:-10000}
shift $(( $# >= 2 ? 2 : $# ))
extra_env=("$@")
gcdump=${IDLE_GCDUMP:-0}
# Seconds the connections stay open, idle, after they are all open and before the heap dumps (sessions park after
# Mqtt:Sessions:ParkAfter, and memory is given back after Mqtt:Memory:TrimAfterQuiet).
wait_after=${IDLE_WAIT:-0}
out="$root/artifacts/idle"
mkdir -p "$out"
bench_dll="$root/Bench/bin/Release/net10.0/OrleansMqtt.Bench.dll"
silo_dll="$root/Silo/bin/Release/net10.0/OrleansMqtt.Silo.dll"
gateway_dll="$root/Gateway/bin/Release/net10.0/OrleansMqtt.Gateway.dll"

# shellcheck source=scripts/broker-processes.sh
source "$root/scripts/broker-processes.sh"
broker_env=("${extra_env[@]}")
cleanup() {
  stop_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[idle-memory $(date +%H:%M:%S)] $*" >&2; }

cluster=idle-$$
silo_port=$(free_port)
orleans_env=(Orleans__ClusterId=$cluster Orleans__ServiceId=$cluster Orleans__SiloPort=$silo_port
  Orleans__PrimarySiloPort=$silo_port Orleans__GatewayPort="$(free_port)")
port=$(free_port)
case $broker in
  embedded)
    start_dotnet embedded "$silo_dll" "${orleans_env[@]}" Mqtt__Tcp__Port="$port"
    broker_pids=$started_pid
    dump_pids=("$started_pid")
    ;;
  silo+gateway)
    start_dotnet silo "$silo_dll" "${orleans_env[@]}" Mqtt__Tcp__Enabled=false ASPNETCORE_URLS="http://127.0.0.1:$(free_port)"
    silo_pid=$started_pid
    start_dotnet gateway "$gateway_dll" "${orleans_env[@]}" Mqtt__Tcp__Port="$port"
    broker_pids="$silo_pid,$started_pid"
    dump_pids=("$silo_pid" "$started_pid")
    ;;
  *)
    log "unknown broker $broker (embedded, silo+gateway)"
    exit 2
    ;;
esac

# dump_heap PID NAME: a gcdump (a full GC), then the heap's statistics by type from a heap dump.
dump_heap() {
  dotnet-gcdump collect -p "$1" -o "$out/$2-$1.gcdump" >/dev/null
  dotnet-dump collect -p "$1" --type Heap -o "$out/$2-$1.dmp" >/dev/null
  dotnet-dump analyze "$out/$2-$1.dmp" -c "dumpheap -stat" -c exit >"$out/$2-$1.txt"
  [ "${IDLE_KEEP_DUMPS:-0}" = 1 ] || rm -f "$out/$2-$1.dmp"
}

ulimit -n "$(ulimit -Hn)"
sleep 2
hold=0
if [ "$gcdump" = 1 ]; then
  for pid in "${dump_pids[@]}"; do
    dump_heap "$pid" before
  done
  hold=$(( 90 + wait_after ))
fi

dotnet "$bench_dll" idle --port "$port" --connections "$connections" --sources $(( (connections + 19999) / 20000 )) \
  --settle-seconds 5 --hold-seconds "$hold" --pids "$broker_pids" >"$out/result.json" 2>"$out/bench.log" &
bench_pid=$!
if [ "$gcdump" = 1 ]; then
  until grep -q "holding" "$out/bench.log"; do
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.5
  done
  sleep "$wait_after"
  for pid in "${dump_pids[@]}"; do
    dump_heap "$pid" after
  done
fi
wait "$bench_pid"
cat "$out/result.json"

if [ "$gcdump" = 1 ]; then
  connected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["connected"])' "$out/result.json")
  for pid in "${dump_pids[@]}"; do
    echo "process $pid: per connection ($connected connections), by bytes"
    dotnet-gcdump report "$out/before-$pid.gcdump" | head -2
    dotnet-gcdump report "$out/after-$pid.gcdump" | head -2
    python3 - "$out/before-$pid.txt" "$out/after-$pid.txt" "$connected" <<'PY'
import re, sys
def read(path):
    # dumpheap -stat: MT, Count, TotalSize, Class Name
    types = {}
    for line in open(path):
        m = re.match(r"\s*[0-9a-f]{12,16}\s+([\d,]+)\s+([\d,]+)\s+(.+?)\s*$", line)
        if m:
            count, size, name = int(m[1].replace(",", "")), int(m[2].replace(",", "")), m[3]
            s, c = types.get(name, (0, 0))
            types[name] = (s + size, c + count)
    return types
before, after, n = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
rows = []
for name in set(before) | set(after):
    s0, c0 = before.get(name, (0, 0))
    s1, c1 = after.get(name, (0, 0))
    rows.append(((s1 - s0) / n, (c1 - c0) / n, name))
rows.sort(reverse=True)
total_b = sum(r[0] for r in rows)
total_c = sum(r[1] for r in rows)
print(f"{'bytes/conn':>10} {'objs/conn':>9}  type")
for b, c, name in rows:
    if abs(b) >= 8 or abs(c) >= 0.5:
        print(f"{b:10.1f} {c:9.2f}  {name}")
print(f"{total_b:10.1f} {total_c:9.2f}  total")
PY
  done
fi
