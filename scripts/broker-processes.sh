# Sourced by scripts/bench-vs-mosquitto.sh and scripts/idle-memory.sh: starts the broker's processes on free
# 127.0.0.1 ports and stops them. The sourcing script sets `out` (each process's NAME.log goes there), defines `log`,
# may set the array `broker_env` (VAR=value added to every process it starts), and calls `stop_all` on exit.

# Every process started here, until stopped.
pids=()

# stop_pids PID...: stops some of the processes this script started (TERM, then KILL after 10 s).
stop_pids() {
  local pid keep=() p
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "/tmp/perf-$pid.map"
  done
  for p in "${pids[@]}"; do
    [[ " $* " == *" $p "* ]] || keep+=("$p")
  done
  pids=("${keep[@]}")
}

# stop_all: stops every process started here.
stop_all() {
  stop_pids ${pids[@]+"${pids[@]}"}
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# free_ports N: N distinct free ports, one a line (free_port twice may name the same port, since it is released).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

wait_for_port() {
  local port=$1
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on $port"
  return 1
}

# start_dotnet NAME DLL [VAR=value]...: runs a built program, waits for its "ready" line; sets started_pid.
start_dotnet() {
  launch_dotnet "$@"
  wait_ready "$1" "$started_pid"
}

# launch_dotnet NAME DLL [VAR=value]...: runs a built program, its output in NAME.log; sets started_pid.
launch_dotnet() {
  local name=$1 dll=$2
  shift 2
  (
    cd "$(dirname "$dll")"
    # The rate limits (docs/security.md) are off: the load generator connects and publishes far faster than a
    # device, and the benchmark measures the broker, not its limits. Mosquitto has none set either.
    exec env DOTNET_ENVIRONMENT=Production Logging__Console__FormatterName=simple \
      Logging__Console__FormatterOptions__SingleLine=true Mqtt__Limits__ConnectRate=0 \
      Mqtt__Limits__ConnectRatePerSourceIp=0 Mqtt__Limits__PublishRate=0 "$@" ${broker_env[@]+"${broker_env[@]}"} dotnet "$dll"
  ) >"$out/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# wait_ready NAME PID: waits for the "ready" line in NAME.log.
wait_ready() {
  local name=$1 pid=$2
  for _ in $(seq 1 900); do
    grep -q "ready" "$out/$name.log" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name exited:"; tail -20 "$out/$name.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name did not say ready in 90 s"
  return 1
}

