#!/usr/bin/env bash
# Runs the same benchmark scenarios (Bench/, OrleansMqtt.Bench) against Mosquitto, our embedded broker (one silo
# with the gateway's listener) and one silo + one gateway as separate processes, all on 127.0.0.1 free ports, and
# persistent sessions also against the embedded broker on Azure Table storage (Azurite). Prints a table with the
# ratios ours / Mosquitto. Everything it starts is stopped on exit. About 34 minutes after the build, 29 of them the
# idle runs (each waits 4 minutes for quiet sessions to park, BENCH_IDLE_QUIET, twice: once with the warm-up
# connections, BENCH_IDLE_WARMUP, once with all).
#
# Idle connections are bounded by the open-files limit of one process (one descriptor per connection in the broker
# and in the client). The single-process brokers get what that allows (the limit less 500); "silo+gateways" is our
# broker scaled out to hold BENCH_SCALEOUT_CONNECTIONS (100,000) anyway: 1 silo and as many gateways as the limit
# requires, each on its own port, the load generator's clients likewise in several processes. It runs idle only,
# on processes started for that run and stopped right after it.
#
# The brokers run side by side and each scenario runs against each broker in turn, twice for the scenarios with a
# target (the second round in reverse order), so that whatever else the machine is doing weighs on all of them
# alike; the table shows each broker's best run, and counts losses and duplicates over all runs.
#
#   scripts/bench-vs-mosquitto.sh
#   BENCH_BROKERS="mosquitto embedded" scripts/bench-vs-mosquitto.sh
#   BENCH_PROFILE=0 scripts/bench-vs-mosquitto.sh     # no perf profile of silo + gateway
#   BENCH_SUITE=0 BENCH_BROKERS=silo+gateway scripts/bench-vs-mosquitto.sh   # only the profile
#   BENCH_BROKERS=silo+gateways scripts/bench-vs-mosquitto.sh                # only 100,000 idle, scaled out
#   BENCH_IDLE_ONLY=1 BENCH_PROFILE=0 scripts/bench-vs-mosquitto.sh          # only the idle runs
#   BENCH_LATENCY_ROUNDS=10 BENCH_BROKERS="mosquitto mosquitto+relay embedded silo+gateway" scripts/bench-vs-mosquitto.sh
#                                   # only latency at 1,000 msg/s, 10 rounds after a warm-up, compared round for round
#
# Results: artifacts/bench/results.jsonl (one JSON line per run), artifacts/bench/summary.md,
# artifacts/bench/profile.txt, and each broker's log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

brokers=${BENCH_BROKERS:-"mosquitto mosquitto+relay embedded silo+gateway embedded+azurite silo+gateways"}
profile=${BENCH_PROFILE:-1}
suite=${BENCH_SUITE:-1}
idle_only=${BENCH_IDLE_ONLY:-0}
latency_rounds=${BENCH_LATENCY_ROUNDS:-0}
[ "$latency_rounds" = 0 ] || profile=0
out="$root/artifacts/bench"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.jsonl"
tmp=$(mktemp -d)

# shellcheck source=scripts/broker-processes.sh
source "$root/scripts/broker-processes.sh"
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench-vs-mosquitto $(date +%H:%M:%S)] $*" >&2; }

# Mosquitto, the broker compared against, is the Debian package mosquitto; installed when missing. Where systemd runs,
# the package starts a system service on port 1883, which is stopped and disabled again: the runs here start their
# own Mosquitto on a free port, and 1883 is our broker's default.
# The relay in front of Mosquitto (mosquitto+relay) is built with gcc, likewise installed when missing.
missing=()
[[ " $brokers " != *" mosquitto"[\ +]* ]] || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[[ " $brokers " != *" mosquitto+relay "* ]] || command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (Debian packages)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && [ -d /run/systemd/system ]; then
    "${sudo_cmd[@]}" systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
fi

# The hard limit of open files bounds the idle-connection scenario (one descriptor per connection in the broker
# and in the client); raise the soft limit to it. Raising the hard limit needs CAP_SYS_RESOURCE.
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)
idle_connections=${BENCH_IDLE_CONNECTIONS:-$(( fd_limit > 100500 ? 100000 : fd_limit - 500 ))}
idle_sources=$(( (idle_connections + 19999) / 20000 ))
idle_quiet=${BENCH_IDLE_QUIET:-240}
# The idle runs open this many connections first and read the broker's memory once it has settled with them: the
# footprint of a broker that has compiled its connection code and grown its pools, against which the rest are read
# (bytes/conn marginal). 0: none.
idle_warmup=${BENCH_IDLE_WARMUP:-5000}
log "open files limit $fd_limit: $idle_connections idle connections from $idle_sources source addresses"
# silo+gateways: G gateways of (limit - 500) connections each hold the whole count.
scaleout_connections=${BENCH_SCALEOUT_CONNECTIONS:-100000}
scaleout_gateways=$(( (scaleout_connections + fd_limit - 501) / (fd_limit - 500) ))
scaleout_sources=$(( (scaleout_connections + 19999) / 20000 ))

log "building (Release)"
for project in Silo Gateway Bench; do
  dotnet build "$project" -c Release -v q -nologo >"$tmp/build-$project.log" 2>&1 || { cat "$tmp/build-$project.log"; exit 1; }
done
bench_dll="$root/Bench/bin/Release/net10.0/OrleansMqtt.Bench.dll"
silo_dll="$root/Silo/bin/Release/net10.0/OrleansMqtt.Silo.dll"
gateway_dll="$root/Gateway/bin/Release/net10.0/OrleansMqtt.Gateway.dll"

# orleans_env CLUSTER: the settings of a one-silo cluster on free ports.
orleans_env() {
  local silo_port
  silo_port=$(free_port)
  echo "Orleans__ClusterId=$1 Orleans__ServiceId=$1 Orleans__SiloPort=$silo_port Orleans__PrimarySiloPort=$silo_port Orleans__GatewayPort=$(free_port)"
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
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(4).strip()
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

# start_mosquitto NAME PORT: Mosquitto 2.0.11 in the background, its config and log named NAME. In-flight window 100
# like our Mqtt:Sessions:MaxInflightMessages; queue unbounded (max_queued_messages 0) because with its default of
# 1,000 it dropped QoS 1 messages under fan-in even with fewer than 1,000 outstanding (see docs/benchmarks.md). The
# benchmark's window bounds the queue anyway.
start_mosquitto() {
  printf '%s\n' "listener $2 127.0.0.1" "allow_anonymous true" "set_tcp_nodelay true" \
    "max_inflight_messages 100" "max_queued_messages 0" "persistence false" \
    "log_dest stderr" "log_type error" "log_type warning" >"$tmp/$1.conf"
  /usr/sbin/mosquitto -c "$tmp/$1.conf" >"$out/$1.log" 2>&1 &
}

declare -A port_of pids_of
started=()
scaleout=0
profile_env=()
if [ "$profile" = 1 ] && command -v perf >/dev/null && [[ " $brokers " == *" silo+gateway "* ]]; then
  # perf resolves JIT-compiled frames through /tmp/perf-<pid>.map; W^X double mapping would hide them, and
  # ReadyToRun code has no map entries, so everything is JIT-compiled.
  profile_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0)
fi

for broker in $brokers; do
  port=$(free_port)
  case $broker in
    silo+gateways)
      # Started for its idle run only (scaleout_idle below).
      scaleout=1
      continue
      ;;
    mosquitto)
      start_mosquitto mosquitto "$port"
      pids+=($!)
      pids_of[$broker]=$!
      wait_for_port "$port"
      ;;
    mosquitto+relay)
      # The same Mosquitto behind a relay that forwards bytes both ways and does nothing else (scripts/tcp-relay.c,
      # one thread, one epoll loop): a message crosses four processes, as through a gateway and a silo, at the
      # least a crossing can cost. Latency only: the floor of a broker in two processes (docs/benchmarks.md, "What
      # a crossing costs").
      upstream=$(free_port)
      while [ "$upstream" = "$port" ]; do upstream=$(free_port); done
      start_mosquitto mosquitto-relayed "$upstream"
      pids+=($!)
      relayed_pid=$!
      wait_for_port "$upstream"
      gcc -O2 -Wall -Wextra -Werror -o "$tmp/tcp-relay" scripts/tcp-relay.c
      "$tmp/tcp-relay" "$port" "$upstream" >"$out/tcp-relay.log" 2>&1 &
      pids+=($!)
      pids_of[$broker]="$relayed_pid,$!"
      wait_for_port "$port"
      ;;
    embedded)
      # shellcheck disable=SC2046
      start_dotnet embedded "$silo_dll" $(orleans_env "bench-emb-$$") Mqtt__Tcp__Port="$port"
      pids_of[$broker]=$started_pid
      ;;
    silo+gateway)
      env_vars=$(orleans_env "bench-sg-$$")
      # shellcheck disable=SC2086
      start_dotnet silo "$silo_dll" $env_vars Mqtt__Tcp__Enabled=false ASPNETCORE_URLS="http://127.0.0.1:$(free_port)" "${profile_env[@]}"
      silo_pid=$started_pid
      # shellcheck disable=SC2086
      start_dotnet gateway "$gateway_dll" $env_vars Mqtt__Tcp__Port="$port" "${profile_env[@]}"
      pids_of[$broker]="$silo_pid,$started_pid"
      ;;
    embedded+azurite)
      # Azure Table storage on Azurite (in memory, on free ports): the durable path, for persistent sessions.
      azurite_js="$root/.tools/azurite/node_modules/azurite/dist/src/azurite.js"
      [ -f "$azurite_js" ] || scripts/install-test-tools.sh >&2
      blob_port=$(free_port)
      queue_port=$(free_port)
      table_port=$(free_port)
      node "$azurite_js" --blobHost 127.0.0.1 --blobPort "$blob_port" --queueHost 127.0.0.1 --queuePort "$queue_port" \
        --tableHost 127.0.0.1 --tablePort "$table_port" --skipApiVersionCheck --disableTelemetry --inMemoryPersistence --silent \
        >"$out/azurite.log" 2>&1 &
      azurite_pid=$!
      pids+=("$azurite_pid")
      wait_for_port "$table_port"
      # Azurite's well-known development account (public and documented; not a secret).
      storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"
      # shellcheck disable=SC2046
      start_dotnet embedded-azurite "$silo_dll" $(orleans_env "bench-az-$$") Mqtt__Tcp__Port="$port" \
        Orleans__Persistence=AzureTable "Azure__Storage__ConnectionString=$storage"
      pids_of[$broker]="$started_pid,$azurite_pid"
      ;;
    *)
      log "unknown broker $broker (mosquitto, embedded, silo+gateway, embedded+azurite, silo+gateways)"
      exit 2
      ;;
  esac
  port_of[$broker]=$port
  started+=("$broker")
  log "$broker ready on $port (pids ${pids_of[$broker]})"
done

bench() { # bench BROKER SCENARIO ARGS...: one run, one JSON line into the results (BENCH_RUN_TIMEOUT s at most),
  # with the round it belongs to (run's, 0 outside one)
  local broker=$1 client_env=()
  shift
  # Latency: the load generator's thread-pool workers do not spin while they wait for work, so that they leave both
  # cores to the broker between messages (docs/benchmarks.md, "Latency, messages evenly paced").
  # In latency rounds each message's latency is kept, to be pooled over the rounds in the summary.
  local samples=()
  if [ "$1" = latency ]; then
    client_env=(DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0)
    [ "$latency_rounds" = 0 ] || samples=(--samples "$out/latency-samples/$broker.$round_now.txt")
  fi
  env "${client_env[@]}" timeout "${BENCH_RUN_TIMEOUT:-180}" dotnet "$bench_dll" "$@" ${samples[@]+"${samples[@]}"} --port "${port_of[$broker]}" --broker "$broker" --pids "${pids_of[$broker]}" \
    2>>"$out/bench-client.log" | sed "s/^{/{\"round\":${round_now:-0},/" >>"$results" ||
    log "$broker: '$*' failed (exit $?), see $out/bench-client.log"
}

# Every scenario runs against these; embedded+azurite runs persistent sessions only (persistent, backlog), and
# mosquitto+relay latency only.
main=()
for broker in "${started[@]}"; do
  [ "$broker" = embedded+azurite ] || [ "$broker" = mosquitto+relay ] || main+=("$broker")
done

run() { # run ROUND SCENARIO ARGS...: one scenario against each broker in turn (in reverse on even rounds)
  local round=$1 scenario=$2 list=() i
  shift 2
  case $scenario in
    persistent | backlog) for i in "${started[@]}"; do [ "$i" = mosquitto+relay ] || list+=("$i"); done ;;
    latency) for i in "${started[@]}"; do [ "$i" = embedded+azurite ] || list+=("$i"); done ;;
    *) list=("${main[@]}") ;;
  esac
  if (( round % 2 == 0 )); then
    local reversed=()
    for ((i = ${#list[@]} - 1; i >= 0; i--)); do reversed+=("${list[$i]}"); done
    list=("${reversed[@]}")
  fi
  round_now=$round
  for broker in "${list[@]}"; do
    log "round $round: $scenario $* against $broker"
    bench "$broker" "$scenario" "$@"
  done
  round_now=0
}

# silo+gateways: 1 silo and scaleout_gateways gateways in one cluster, each gateway with its own MQTT port, fresh for
# one idle run of scaleout_connections over all their ports; the load generator spreads its clients over as many
# processes as its own open-files limit requires. Everything is stopped after the run.
scaleout_idle() {
  local env_vars so_pids=() ports=() port g
  env_vars=$(orleans_env "bench-so-$$")
  # shellcheck disable=SC2086
  start_dotnet scaleout-silo "$silo_dll" $env_vars Mqtt__Tcp__Enabled=false ASPNETCORE_URLS="http://127.0.0.1:$(free_port)"
  so_pids+=("$started_pid")
  mapfile -t ports < <(free_ports "$scaleout_gateways")
  # The gateways start together (each joins the cluster as a client); their HTTP listener (Mqtt:Http) and TLS
  # listener are off by default, so the MQTT port is the only one each opens.
  for ((g = 0; g < scaleout_gateways; g++)); do
    # shellcheck disable=SC2086
    launch_dotnet "scaleout-gateway-$((g + 1))" "$gateway_dll" $env_vars Mqtt__Tcp__Port="${ports[$g]}"
    so_pids+=("$started_pid")
  done
  for ((g = 0; g < scaleout_gateways; g++)); do
    wait_ready "scaleout-gateway-$((g + 1))" "${so_pids[$((g + 1))]}"
  done
  log "silo+gateways ready: 1 silo + $scaleout_gateways gateways on ports $(IFS=,; echo "${ports[*]}") (pids $(IFS=,; echo "${so_pids[*]}"))"
  sleep 40
  log "silo+gateways: idle ($scaleout_connections connections from $scaleout_sources source addresses)"
  timeout $(( 600 + 2 * idle_quiet )) dotnet "$bench_dll" idle --ports "$(IFS=,; echo "${ports[*]}")" --broker silo+gateways \
    --pids "$(IFS=,; echo "${so_pids[*]}")" --connections "$scaleout_connections" --sources "$scaleout_sources" \
    --settle-seconds 5 --quiet-seconds "$idle_quiet" --warmup "$idle_warmup" --max-seconds 420 >>"$results" 2>>"$out/bench-client.log" ||
    log "silo+gateways: idle failed (exit $?), see $out/bench-client.log"
  stop_pids "${so_pids[@]}"
}

if [ "$suite" = 1 ] && [ "$latency_rounds" = 0 ]; then
  # Idle first, on fresh brokers, so that each baseline is the empty broker's footprint, read once our brokers have
  # given back what starting up took (Mqtt:Memory:TrimAfterQuiet, 30 s). Memory is read 5 s after the last
  # connection is open, and again $idle_quiet s later, once quiet sessions have parked (Mqtt:Sessions:ParkAfter,
  # 2 minutes) and that memory was given back too; Mosquitto's does not change, so it is read once. With a warm-up
  # (BENCH_IDLE_WARMUP), its connections are held through one such wait before the rest are opened.
  sleep 40
  for broker in "${main[@]}"; do
    log "$broker: idle ($idle_connections connections)"
    quiet=$idle_quiet
    [ "$broker" != mosquitto ] || quiet=0
    BENCH_RUN_TIMEOUT=$(( 180 + 2 * quiet )) bench "$broker" idle --connections "$idle_connections" --sources "$idle_sources" \
      --settle-seconds 5 --quiet-seconds "$quiet" --warmup "$idle_warmup" --max-seconds 120
  done
  if [ "$scaleout" = 1 ]; then
    scaleout_idle
  fi
fi

if [ "$suite" = 1 ] && [ "$idle_only" != 1 ]; then
  # JIT warm-up: the first messages through a fresh .NET process cost several times the steady state.
  for broker in "${started[@]}"; do
    log "$broker: warm-up (not reported)"
    for qos in 0 1; do
      timeout 60 dotnet "$bench_dll" fanin --qos "$qos" --publishers 8 --messages 5000 --max-seconds 5 \
        --port "${port_of[$broker]}" >/dev/null 2>>"$out/bench-client.log" || true
    done
  done
  if [ "$latency_rounds" != 0 ]; then
    # Latency only: one more run each to warm up at the rate measured (in a broker's first minutes tiered
    # compilation is still at work), then the rounds.
    for broker in "${started[@]}"; do
      [ "$broker" = embedded+azurite ] || timeout 60 dotnet "$bench_dll" latency --qos 0 --rate 1000 --seconds 10 \
        --port "${port_of[$broker]}" >/dev/null 2>>"$out/bench-client.log" || true
    done
    mkdir -p "$out/latency-samples"
    for ((round = 1; round <= latency_rounds; round++)); do
      run "$round" latency --qos 0 --rate 1000 --seconds 10
    done
  else
    for round in 1 2; do
      run "$round" fanin --qos 0 --publishers 8 --messages 25000 --max-seconds 10
      run "$round" fanin --qos 1 --publishers 8 --messages 25000 --max-seconds 10
      run "$round" fanout --qos 0 --subscribers 50 --messages 4000 --max-seconds 10
      run "$round" latency --qos 0 --rate 1000 --seconds 8
      [ "$round" = 1 ] || continue
      run "$round" fanin --qos 2 --publishers 8 --messages 5000 --max-seconds 10
      run "$round" pairs --qos 0 --pairs 50 --messages 4000 --max-seconds 10
      run "$round" persistent --qos 1 --publishers 8 --messages 10000 --max-seconds 10
      run "$round" backlog --qos 1 --messages 1000 --payload 16000 --max-seconds 60
      run "$round" storm --connections 5000 --concurrency 64 --sources 2 --max-seconds 60
    done
  fi
fi

if [ ${#profile_env[@]} -gt 0 ]; then
  log "silo+gateway: profiling fan-in QoS 1 with perf and dotnet-counters"
  silo_pid=${pids_of[silo+gateway]%,*}
  gateway_pid=${pids_of[silo+gateway]#*,}
  counters="$root/.tools/dotnet-counters"
  [ -x "$counters" ] || dotnet tool install dotnet-counters --tool-path "$root/.tools" >/dev/null 2>&1 || true
  # Warm-up: with ReadyToRun off everything starts in the JIT, and under load tiered compilation goes on
  # recompiling for about a minute (dotnet-counters: 15-18 % of the silo's CPU still in the JIT after 40 s of
  # fan-in); six rounds leave the hot path at its final tier, so that the profile shows the broker's work and not
  # the compiler's.
  for _ in 1 2 3 4 5 6; do
    timeout 60 dotnet "$bench_dll" fanin --qos 1 --publishers 8 --messages 50000 --max-seconds 10 \
      --port "${port_of[silo+gateway]}" >/dev/null 2>>"$out/bench-client.log" || true
  done
  watchers=()
  for pid in $silo_pid $gateway_pid; do
    perf record -e cpu-clock -F 999 -g -p "$pid" -o "$tmp/perf-$pid.data" -- sleep 12 >/dev/null 2>&1 &
    watchers+=($!)
    if [ -x "$counters" ]; then
      "$counters" collect -p "$pid" --counters System.Runtime --refresh-interval 1 --format csv \
        -o "$tmp/counters-$pid.csv" --duration 00:00:00:12 >/dev/null 2>&1 &
      watchers+=($!)
    fi
  done
  sleep 1
  timeout 60 dotnet "$bench_dll" fanin --qos 1 --publishers 8 --messages 50000 --max-seconds 10 --port "${port_of[silo+gateway]}" \
    --broker "silo+gateway (profiled)" --pids "${pids_of[silo+gateway]}" >"$tmp/profiled-run.json" 2>>"$out/bench-client.log" || true
  wait "${watchers[@]}" || true
  {
    echo "profiled run (under perf and dotnet-counters, so slower than the figures above):"
    cat "$tmp/profiled-run.json"
    echo
    for pid in $silo_pid $gateway_pid; do
      if [ "$pid" = "$silo_pid" ]; then echo "## silo (pid $pid)"; else echo "## gateway (pid $pid)"; fi
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

cleanup

if [ ! -s "$results" ]; then
  # Only the profile ran (BENCH_SUITE=0): there is no table to print.
  exit 0
fi

python3 - "$results" "$fd_limit" "$out/latency-samples" >"$out/summary.md" <<'PY'
import json, math, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def key(r):
    k = r["scenario"]
    if "qos" in r and r["scenario"] in ("fanin", "fanout", "pairs", "persistent", "latency"):
        k += f" QoS {r['qos']}"
    return k
metrics = {
    "idle": [("bytes_per_connection", "bytes/conn, 5 s after connecting", False),
             ("bytes_per_connection_quiet", "bytes/conn, settled (quiet sessions parked, memory given back)", False),
             ("bytes_per_connection_marginal", "bytes/conn, settled, over the footprint with the warm-up connections", False),
             ("connected", "connected", None)],
    "storm": [("connects_per_s", "connects/s", True), ("connect_p99_ms", "connect p99 ms", False)],
    "latency": [("p50_ms", "p50 ms", False), ("p99_ms", "p99 ms", False), ("p999_ms", "p99.9 ms", False)],
    "backlog": [("publish_msgs_per_s", "msgs/s to the offline session", True),
                ("broker_cpu_publish_s", "broker CPU s for them", False),
                ("drain_msgs_per_s", "msgs/s to it on its return", True)],
}
default = [("msgs_per_s", "msgs/s", True), ("broker_cpu_s_per_million", "CPU s / 10^6 msgs", False)]
def score(r):  # a broker's best run of a scenario
    if r["scenario"] == "latency": return -(r.get("p99_ms") or 1e9)
    if r["scenario"] == "storm": return r.get("connects_per_s") or 0
    if r["scenario"] == "backlog": return r.get("publish_msgs_per_s") or 0
    return r.get("msgs_per_s") or 0
brokers, order, best, losses = [], [], {}, {}
for r in rows:
    k = key(r)
    if r["broker"] not in brokers: brokers.append(r["broker"])
    if k not in order: order.append(k)
    b = best.setdefault(k, {}).get(r["broker"])
    if b is None or score(r) > score(b): best[k][r["broker"]] = r
    l = losses.setdefault(k, {}).setdefault(r["broker"], [0, 0, 0, 0])
    l[0] += r.get("lost") or 0; l[1] += r.get("duplicates") or 0; l[2] += r.get("failed") or 0; l[3] += 1
ours = [b for b in brokers if b != "mosquitto"]
print("| scenario | figure | " + " | ".join(brokers) + " | " + " | ".join(f"{b} / mosquitto" for b in ours) + " | runs: lost / duplicates (or failed connects) |")
print("|" + " --- |" * (2 + len(brokers) + len(ours) + 1))
def fmt(v):
    if v is None: return "-"
    if isinstance(v, float): return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{v:,}"
for k in order:
    scenario = k.split(" ")[0]
    for field, label, _ in metrics.get(scenario, default):
        vals = [best[k].get(b, {}).get(field) for b in brokers]
        base = best[k].get("mosquitto", {}).get(field)
        ratios = []
        for b in ours:
            v = best[k].get(b, {}).get(field)
            ratios.append(f"{v / base:.2f}" if isinstance(v, (int, float)) and isinstance(base, (int, float)) and base else "-")
        if scenario in ("idle", "storm"):
            lost = "; ".join(f"{b}: {l[3]} run(s), {l[2]} failed" for b, l in losses[k].items())
        else:
            lost = "; ".join(f"{b}: {l[3]} run(s), {l[0]} / {l[1]}" for b, l in losses[k].items())
        print(f"| {k} | {label} | " + " | ".join(fmt(v) for v in vals) + " | " + " | ".join(ratios) + f" | {lost} |")
# Latency, round for round: one round's runs follow each other, so the ratio to that round's Mosquitto is less
# moved by what the machine did meanwhile than best against best.
rounds = {}
for r in rows:
    if r["scenario"] == "latency" and r.get("round") and r.get("p99_ms") and not r.get("lost"):
        rounds.setdefault(r["round"], {})[r["broker"]] = r["p99_ms"]
rounds = {n: v for n, v in sorted(rounds.items()) if v.get("mosquitto")}
if rounds:
    print()
    print("Latency at 1,000 msg/s, p99 ms round for round (ratio to the same round's Mosquitto):")
    print()
    print("| round | " + " | ".join(brokers) + " |")
    print("|" + " --- |" * (1 + len(brokers)))
    for n, v in rounds.items():
        cells = [(f"{v[b]:.2f}" + (f" ({v[b] / v['mosquitto']:.2f})" if b != "mosquitto" else "")) if b in v else "-" for b in brokers]
        print(f"| {n} | " + " | ".join(cells) + " |")
    def median(xs):
        xs = sorted(xs)
        return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2
    cells = []
    for b in brokers:
        if b == "mosquitto":
            cells.append(f"{median([v[b] for v in rounds.values()]):.2f}")
            continue
        ratios = [v[b] / v["mosquitto"] for v in rounds.values() if b in v]
        cells.append(f"{median(ratios):.2f} ({sum(x <= 2 for x in ratios)} of {len(ratios)} rounds ≤ 2)" if ratios else "-")
    print("| median | " + " | ".join(cells) + " |")
    # Pooled: every message of every round, per broker (BENCH_LATENCY_ROUNDS keeps them), less the first second of
    # each run, the load generator's warm-up (1,000 messages at 1,000 msg/s), as in its own percentiles.
    pooled = {}
    folder = sys.argv[3]
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            b = name.rsplit(".", 2)[0]
            lines = open(os.path.join(folder, name)).read().split()[1000:]
            pooled.setdefault(b, []).extend(x for x in map(float, lines) if x >= 0)
    if pooled.get("mosquitto"):
        def pct(xs, q):
            return xs[min(len(xs) - 1, math.ceil(q * len(xs)) - 1)]
        for xs in pooled.values():
            xs.sort()
        base = {q: pct(pooled["mosquitto"], q) for q in (0.5, 0.99, 0.999)}
        print()
        print("Every message of every round, pooled per broker: p50, p99, p99.9 ms (ratio to Mosquitto's):")
        print()
        for b in brokers:
            if b in pooled:
                print(f"- {b}, {len(pooled[b]):,} messages: " + ", ".join(
                    f"{pct(pooled[b], q):.3f}" + (f" ({pct(pooled[b], q) / base[q]:.2f})" if b != "mosquitto" else "") for q in (0.5, 0.99, 0.999)))
idle = best.get("idle", {})
if idle:
    # Connections per broker differ: say how many each held, and in how many processes.
    held = []
    for b in brokers:
        r = idle.get(b)
        if r:
            procs = len([p for p in (r.get("bytes_per_connection_by_pid") or "").split(",") if p])
            held.append(f"{b} {r.get('connected') or 0:,} in {procs} process{'es' if procs != 1 else ''}"
                        + (f" (clients in {r['client_processes']})" if (r.get("client_processes") or 1) > 1 else ""))
    print()
    print(f"Idle: {'; '.join(held)}. The open-files limit is {int(sys.argv[2]):,} per process (one descriptor per "
          "connection in the broker and in the client), so a single-process broker, Mosquitto included, holds at most "
          "the limit less 500; silo+gateways spreads its connections over several gateway processes. bytes/conn is "
          "the VmRSS growth of all the broker's processes divided by the connections it held; Mosquitto's is read once.")
PY
cat "$out/summary.md"
log "results: $results"
