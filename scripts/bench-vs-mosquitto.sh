#!/usr/bin/env bash
# Runs the same benchmark scenarios (Bench/, OrleansMqtt.Bench) against Mosquitto, our embedded broker (one silo
# with the gateway's listener) and one silo + one gateway as separate processes, all on 127.0.0.1 free ports, then
# prints a table with the ratios ours / Mosquitto. Everything it starts is stopped on exit. About 10 minutes.
#
#   scripts/bench-vs-mosquitto.sh                 # everything
#   BENCH_BROKERS="mosquitto embedded" scripts/bench-vs-mosquitto.sh
#   BENCH_PROFILE=0 scripts/bench-vs-mosquitto.sh  # skip the perf profile of silo + gateway
#   BENCH_SUITE=0 BENCH_BROKERS=silo+gateway scripts/bench-vs-mosquitto.sh   # only the profile
#
# Results: artifacts/bench/results.jsonl (one JSON line per scenario and broker), artifacts/bench/summary.md,
# artifacts/bench/profile.txt, and each broker's log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

brokers=${BENCH_BROKERS:-"mosquitto embedded silo+gateway embedded+azurite"}
profile=${BENCH_PROFILE:-1}
suite=${BENCH_SUITE:-1}
out="$root/artifacts/bench"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.jsonl"
tmp=$(mktemp -d)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "/tmp/perf-$pid.map"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

log() { echo "[bench-vs-mosquitto $(date +%H:%M:%S)] $*" >&2; }

# The hard limit of open files bounds the idle-connection scenario (one descriptor per connection in the broker
# and in the client); raise the soft limit to it. Raising the hard limit needs CAP_SYS_RESOURCE.
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)
idle_connections=${BENCH_IDLE_CONNECTIONS:-$(( fd_limit > 100500 ? 100000 : fd_limit - 500 ))}
idle_sources=$(( (idle_connections + 19999) / 20000 ))
log "open files limit $fd_limit: $idle_connections idle connections from $idle_sources source addresses"

log "building (Release)"
for project in Silo Gateway Bench; do
  dotnet build "$project" -c Release -v q -nologo >"$tmp/build-$project.log" 2>&1 || { cat "$tmp/build-$project.log"; exit 1; }
done
bench_dll="$root/Bench/bin/Release/net10.0/OrleansMqtt.Bench.dll"
silo_dll="$root/Silo/bin/Release/net10.0/OrleansMqtt.Silo.dll"
gateway_dll="$root/Gateway/bin/Release/net10.0/OrleansMqtt.Gateway.dll"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
  local port=$1
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on $port"
  return 1
}

# start_dotnet NAME DLL [VAR=value]...: runs a built program, waits for its "ready" line; sets started_pid.
start_dotnet() {
  local name=$1 dll=$2
  shift 2
  (
    cd "$(dirname "$dll")"
    exec env DOTNET_ENVIRONMENT=Production Logging__Console__FormatterName=simple \
      Logging__Console__FormatterOptions__SingleLine=true "$@" dotnet "$dll"
  ) >"$out/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 1 900); do
    grep -q "ready" "$out/$name.log" && return 0
    kill -0 "$started_pid" 2>/dev/null || { log "$name exited:"; tail -20 "$out/$name.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name did not say ready in 90 s"
  return 1
}

stop() {
  local pid
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Groups perf's flat profile (perf report --sort dso,sym) by where the time goes.
profile_summary=$(cat <<'PY'
import re, sys
groups = {}
def managed(sym):
    m = re.search(r"\[([^\]]+)\]\s+([^\s(]+)::", sym)
    t = m.group(2) if m else sym
    if t.startswith("OrleansMqtt.Protocol"): return "OrleansMqtt: codec (Protocol)"
    if t.startswith("OrleansMqtt.Gateway"): return "OrleansMqtt: gateway"
    if t.startswith("OrleansMqtt.Grains") or t.startswith("OrleansCodeGen"): return "OrleansMqtt: grains (+ generated proxies/codecs)"
    if t.startswith("Orleans.Serialization"): return "Orleans serialization"
    if re.match(r"Orleans\.(Runtime\.Messaging|Networking|Runtime\.Message|Messaging)", t): return "Orleans messaging/networking"
    if t.startswith("Orleans"): return "Orleans runtime (scheduling, activations, callbacks)"
    if "CastHelpers" in t: return "type casts (CastHelpers)"
    if re.match(r"System\.(Threading|Runtime\.CompilerServices)", t): return "threads, tasks, async machinery"
    if re.match(r"(Microsoft\.AspNetCore|System\.Net|System\.IO\.Pipelines)", t): return "Kestrel, sockets, pipelines (managed)"
    if re.match(r"System\.(Collections|Linq)", t): return "collections, LINQ"
    if "stub" in sym.lower(): return "runtime stubs (dispatch, write barriers)"
    return "other managed (BCL, logging, DI)"
total = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(4).strip()
    total += pct
    if m.group(3) == "k" or "kernel" in dso: g = "kernel (syscalls, TCP loopback, scheduling)"
    elif dso.startswith("libcoreclr"): g = "CLR native: GC, allocation, thread-pool waits (no symbols)"
    elif dso.startswith("libclrjit"): g = "JIT"
    elif dso.startswith(("libc.", "ld-linux", "libpthread")): g = "libc (memset/memcpy, futex, sched_yield)"
    elif dso.startswith("libSystem"): g = "native interop (sockets)"
    else: g = managed(sym)
    groups[g] = groups.get(g, 0) + pct
for name, pct in sorted(groups.items(), key=lambda kv: -kv[1]):
    print(f"{pct:6.1f}%  {name}")
PY
)

# Totals of dotnet-counters' per-second counters over the profiled run, per delivered message.
counters_summary=$(cat <<'PY'
import csv, json, sys
totals = {}
for r in csv.DictReader(open(sys.argv[1])):
    name = r["Counter Name"]
    if "/ 1 sec" in name:
        totals[name] = totals.get(name, 0.0) + float(r["Mean/Increment"] or 0)
try:
    delivered = json.load(open(sys.argv[2]))["delivered"]
except Exception:
    delivered = 0
def get(prefix):
    return sum(v for k, v in totals.items() if k.startswith(prefix))
cpu = get("dotnet.process.cpu.time")
print(f"delivered {delivered:,}; CPU {cpu:.2f} s; GC pauses {get('dotnet.gc.pause.time'):.2f} s; "
      f"gen0/1/2 collections {get('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]'):.0f}/"
      f"{get('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]'):.0f}/"
      f"{get('dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]'):.0f}; JIT {get('dotnet.jit.compilation.time'):.2f} s")
if delivered:
    print(f"per delivered message: {get('dotnet.gc.heap.total_allocated') / delivered:,.0f} bytes allocated, "
          f"{get('dotnet.thread_pool.work_item.count') / delivered:.2f} thread-pool work items, {cpu / delivered * 1e6:.1f} CPU s per 10^6")
PY
)

bench() {
  local label=$1 port=$2 broker_pids=$3
  shift 3
  timeout 180 dotnet "$bench_dll" "$@" --port "$port" --broker "$label" --pids "$broker_pids" >>"$results" 2>>"$out/bench-client.log" ||
    log "$label: '$*' failed (exit $?), see $out/bench-client.log"
}

# The scenarios, the same for every broker. Idle first, on a fresh broker, so its memory baseline is the empty broker.
run_suite() {
  local label=$1 port=$2 broker_pids=$3
  [ "$suite" = 1 ] || return 0
  log "$label: warm-up (not reported)"
  for qos in 0 1; do
    timeout 60 dotnet "$bench_dll" fanin --qos "$qos" --publishers 8 --messages 5000 --max-seconds 5 --port "$port" >/dev/null 2>>"$out/bench-client.log" || true
  done
  log "$label: idle ($idle_connections connections)"
  bench "$label" "$port" "$broker_pids" idle --connections "$idle_connections" --sources "$idle_sources" --settle-seconds 5 --max-seconds 120
  log "$label: storm"
  bench "$label" "$port" "$broker_pids" storm --connections 5000 --concurrency 64 --sources 2 --max-seconds 60
  for qos in 0 1; do
    log "$label: fan-in QoS $qos"
    bench "$label" "$port" "$broker_pids" fanin --qos "$qos" --publishers 8 --messages 50000 --max-seconds 20
  done
  log "$label: fan-in QoS 2"
  bench "$label" "$port" "$broker_pids" fanin --qos 2 --publishers 8 --messages 10000 --max-seconds 20
  log "$label: fan-out"
  bench "$label" "$port" "$broker_pids" fanout --qos 0 --subscribers 50 --messages 8000 --max-seconds 20
  log "$label: pairs"
  bench "$label" "$port" "$broker_pids" pairs --qos 0 --pairs 50 --messages 8000 --max-seconds 20
  log "$label: latency"
  bench "$label" "$port" "$broker_pids" latency --qos 0 --rate 1000 --seconds 10
  log "$label: persistent sessions"
  bench "$label" "$port" "$broker_pids" persistent --qos 1 --publishers 8 --messages 25000 --max-seconds 20
}

# Ports of a silo: silo-to-silo, Orleans gateway, and a spare HTTP port so that Kestrel's default does not collide.
orleans_env() {
  local cluster=$1 silo_port=$2 gateway_port=$3
  echo "Orleans__ClusterId=$cluster Orleans__ServiceId=$cluster Orleans__SiloPort=$silo_port Orleans__PrimarySiloPort=$silo_port Orleans__GatewayPort=$gateway_port"
}

for broker in $brokers; do
  case $broker in
    mosquitto)
      port=$(free_port)
      # Mosquitto 2.0.11. In-flight window 100 like our Mqtt:Sessions:MaxInflightMessages; queue unbounded
      # (max_queued_messages 0) because with its default of 1,000 it dropped QoS 1 messages under fan-in even with
      # fewer than 1,000 outstanding (see docs/benchmarks.md). The benchmark's window bounds the queue anyway.
      cat >"$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
max_inflight_messages 100
max_queued_messages 0
persistence false
log_dest stderr
log_type error
log_type warning
EOF
      /usr/sbin/mosquitto -c "$tmp/mosquitto.conf" >"$out/mosquitto.log" 2>&1 &
      mosquitto_pid=$!
      pids+=("$mosquitto_pid")
      wait_for_port "$port"
      log "mosquitto ready on $port (pid $mosquitto_pid)"
      run_suite mosquitto "$port" "$mosquitto_pid"
      stop "$mosquitto_pid"
      ;;
    embedded)
      port=$(free_port)
      # shellcheck disable=SC2046
      start_dotnet embedded "$silo_dll" $(orleans_env "bench-emb-$$" "$(free_port)" "$(free_port)") Mqtt__Tcp__Port="$port"
      silo_pid=$started_pid
      log "embedded broker ready on $port (pid $silo_pid)"
      run_suite embedded "$port" "$silo_pid"
      stop "$silo_pid"
      ;;
    silo+gateway)
      port=$(free_port)
      env_vars=$(orleans_env "bench-sg-$$" "$(free_port)" "$(free_port)")
      profile_env=()
      if [ "$profile" = 1 ] && command -v perf >/dev/null; then
        # perf resolves JIT-compiled frames through /tmp/perf-<pid>.map; W^X double mapping would hide them.
        # ReadyToRun code has no map entries: JIT everything, so that the framework's frames have names too.
        profile_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0)
      fi
      # shellcheck disable=SC2086
      start_dotnet silo "$silo_dll" $env_vars Mqtt__Tcp__Enabled=false ASPNETCORE_URLS="http://127.0.0.1:$(free_port)" "${profile_env[@]}"
      silo_pid=$started_pid
      # shellcheck disable=SC2086
      start_dotnet gateway "$gateway_dll" $env_vars Mqtt__Tcp__Port="$port" "${profile_env[@]}"
      gateway_pid=$started_pid
      log "silo (pid $silo_pid) + gateway (pid $gateway_pid) ready on $port"
      run_suite silo+gateway "$port" "$silo_pid,$gateway_pid"
      if [ ${#profile_env[@]} -gt 0 ]; then
        log "silo+gateway: profiling fan-in QoS 1 with perf"
        counters="$root/.tools/dotnet-counters"
        [ -x "$counters" ] || dotnet tool install dotnet-counters --tool-path "$root/.tools" >/dev/null 2>&1 || true
        perf_pids=()
        if [ -x "$counters" ]; then
          for pid in $silo_pid $gateway_pid; do
            "$counters" collect -p "$pid" --counters System.Runtime --refresh-interval 1 --format csv \
              -o "$tmp/counters-$pid.csv" --duration 00:00:00:12 >/dev/null 2>&1 &
            perf_pids+=($!)
          done
        fi
        for pid in $silo_pid $gateway_pid; do
          perf record -e cpu-clock -F 999 -g -p "$pid" -o "$tmp/perf-$pid.data" -- sleep 12 >/dev/null 2>&1 &
          perf_pids+=($!)
        done
        sleep 1
        timeout 60 dotnet "$bench_dll" fanin --qos 1 --publishers 8 --messages 50000 --max-seconds 10 --port "$port" \
          --broker "silo+gateway (perf)" >"$tmp/profiled-run.json" 2>>"$out/bench-client.log" || true
        wait "${perf_pids[@]}"
        {
          echo "profiled run (under perf and dotnet-counters, so slower than the figures above):"
          cat "$tmp/profiled-run.json"
          echo
          for pid in $silo_pid $gateway_pid; do
            [ "$pid" = "$silo_pid" ] && echo "## silo (pid $pid)" || echo "## gateway (pid $pid)"
            if [ -f "$tmp/counters-$pid.csv" ]; then
              python3 -c "$counters_summary" "$tmp/counters-$pid.csv" "$tmp/profiled-run.json"
              echo
            fi
            perf report -i "$tmp/perf-$pid.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
              python3 -c "$profile_summary"
            echo
            echo "top symbols:"
            perf report -i "$tmp/perf-$pid.data" --no-children --sort dso,sym --percent-limit 0.5 --stdio -g none 2>/dev/null |
              grep -v '^#' | grep -v '^$' | head -40 | cut -c1-220
            echo
          done
        } >"$out/profile.txt"
        log "profile: $out/profile.txt"
      fi
      stop "$gateway_pid" "$silo_pid"
      ;;
    embedded+azurite)
      # Persistent sessions against Azure Table storage on Azurite (in memory, on free ports): the durable path.
      azurite_js="$root/.tools/azurite/node_modules/azurite/dist/src/azurite.js"
      [ -f "$azurite_js" ] || scripts/install-test-tools.sh >&2
      blob_port=$(free_port) queue_port=$(free_port) table_port=$(free_port)
      node "$azurite_js" --blobHost 127.0.0.1 --blobPort "$blob_port" --queueHost 127.0.0.1 --queuePort "$queue_port" \
        --tableHost 127.0.0.1 --tablePort "$table_port" --skipApiVersionCheck --disableTelemetry --inMemoryPersistence --silent \
        >"$out/azurite.log" 2>&1 &
      azurite_pid=$!
      pids+=("$azurite_pid")
      wait_for_port "$table_port"
      # Azurite's well-known development account (public, documented; not a secret).
      storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"
      port=$(free_port)
      # shellcheck disable=SC2046
      start_dotnet embedded-azurite "$silo_dll" $(orleans_env "bench-az-$$" "$(free_port)" "$(free_port)") Mqtt__Tcp__Port="$port" \
        Orleans__Persistence=AzureTable "Azure__Storage__ConnectionString=$storage"
      silo_pid=$started_pid
      log "embedded broker with Azure Table storage on Azurite ready on $port (pid $silo_pid, Azurite pid $azurite_pid)"
      if [ "$suite" = 1 ]; then
        timeout 60 dotnet "$bench_dll" fanin --qos 1 --messages 2000 --max-seconds 5 --port "$port" >/dev/null 2>>"$out/bench-client.log" || true
        log "embedded+azurite: persistent sessions"
        bench embedded+azurite "$port" "$silo_pid,$azurite_pid" persistent --qos 1 --publishers 8 --messages 25000 --max-seconds 20
      fi
      stop "$silo_pid" "$azurite_pid"
      ;;
    *)
      log "unknown broker $broker (mosquitto, embedded, silo+gateway, embedded+azurite)"
      exit 2
      ;;
  esac
done

python3 - "$results" >"$out/summary.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def key(r):
    k = r["scenario"]
    if "qos" in r and r["scenario"] in ("fanin", "fanout", "pairs", "persistent", "latency"):
        k += f" QoS {r['qos']}"
    return k
metrics = {
    "idle": [("bytes_per_connection", "bytes/conn", False), ("connected", "connected", None)],
    "storm": [("connects_per_s", "connects/s", True)],
    "latency": [("p50_ms", "p50 ms", False), ("p99_ms", "p99 ms", False), ("p999_ms", "p99.9 ms", False)],
}
default = [("msgs_per_s", "msgs/s", True), ("broker_cpu_s_per_million", "CPU s / 10^6 msgs", False)]
brokers = []
for r in rows:
    if r["broker"] not in brokers:
        brokers.append(r["broker"])
table = {}
order = []
for r in rows:
    k = key(r)
    if k not in order:
        order.append(k)
    table.setdefault(k, {})[r["broker"]] = r
ours = [b for b in brokers if b != "mosquitto"]
print("| scenario | figure | " + " | ".join(brokers) + " | " + " | ".join(f"{b} / mosquitto" for b in ours) + " | losses, duplicates |")
print("|" + " --- |" * (2 + len(brokers) + len(ours) + 1))
def fmt(v):
    if v is None: return "-"
    if isinstance(v, float): return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{v:,}"
for k in order:
    scenario = k.split(" ")[0]
    for field, label, _ in metrics.get(scenario, default):
        vals = [table[k].get(b, {}).get(field) for b in brokers]
        base = table[k].get("mosquitto", {}).get(field)
        ratios = []
        for b in ours:
            v = table[k].get(b, {}).get(field)
            ratios.append(f"{v / base:.2f}" if isinstance(v, (int, float)) and isinstance(base, (int, float)) and base else "-")
        losses = "; ".join(f"{b}: {table[k][b].get('lost', 0)}/{table[k][b].get('duplicates', 0)}" for b in brokers if b in table[k] and ("lost" in table[k][b])) or "-"
        if scenario in ("idle", "storm"):
            losses = "; ".join(f"{b}: {table[k][b].get('failed', 0)} failed" for b in brokers if b in table[k])
        print(f"| {k} | {label} | " + " | ".join(fmt(v) for v in vals) + " | " + " | ".join(ratios) + f" | {losses} |")
PY
cat "$out/summary.md"
log "results: $results"
