#!/usr/bin/env bash
# Throwaway Redis for the tests and benchmarks (Debian's redis-server 7.0), like scripts/pg.sh.
#
#   scripts/redis.sh start          one redis-server on 127.0.0.1 (a free port); prints redis://… (last line of stdout)
#   scripts/redis.sh stop
#   scripts/redis.sh url            the URL if it runs, else exit 1
#   scripts/redis.sh cluster-start  6 nodes (3 masters + 3 replicas) on 127.0.0.1, ports ≤ 55535 (the bus is +10000);
#                                   waits for cluster_state:ok; prints host:port,… (last line of stdout)
#   scripts/redis.sh cluster-stop
#   scripts/redis.sh cluster-nodes  host:port,… if the cluster runs and is ok, else exit 1
#   scripts/redis.sh cluster-master SLOT   host:port of the master serving SLOT now (0-16383)
#   scripts/redis.sh cluster-kill PORT     kill -9 the cluster node on PORT (a crash: its folder is kept)
#   scripts/redis.sh cluster-restart PORT  start that node again; it rejoins (a killed master as a replica of its successor)
#
#   REDIS_URL=$(scripts/redis.sh start | tail -n 1) SESSIONQL_TEST_ENGINE=redis npm test
#
# Idempotent: start leaves a running server alone (same URL), stop does nothing when
# nothing runs. Keys are not kept (no RDB, no AOF): a stopped server starts empty. A
# cluster is created afresh by each cluster-start that finds it not running.
# Everything but the URL/nodes goes to stderr. Loopback only: never for data you care about.
#
# Environment:
#   SESSIONQL_REDIS_DIR          data (default ${TMPDIR:-/tmp}/sessionql-redis)
#   SESSIONQL_REDIS_PORT         preferred single port (default 56380; another free one if taken)
#   SESSIONQL_REDIS_CLUSTER_PORT preferred first cluster port (default 54001; 6 consecutive, ≤ 55535)
#   SESSIONQL_REDIS_PASSWORD     servers started now require it (requirepass; replicas use it as
#                                masterauth); the URL, and the first of the nodes, carry it
#   SESSIONQL_REDIS_TLS=1        servers started now speak TLS only (clients, replication and the
#                                cluster bus), with a certificate for 127.0.0.1 signed by a CA made in
#                                $SESSIONQL_REDIS_DIR/tls/ca.crt (trust it: NODE_EXTRA_CA_CERTS);
#                                rediss:// URLs
#   SESSIONQL_REDIS_TLS=hostname the same, as managed TLS clusters do it: the certificate names
#                                localhost only (no IP), cluster nodes announce the name localhost
#                                (CLUSTER SLOTS), and the URL and nodes say localhost
# A folder's servers keep the password and TLS they were started with: use another folder to change them.
set -euo pipefail

DIR=${SESSIONQL_REDIS_DIR:-${TMPDIR:-/tmp}/sessionql-redis}
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
PREFERRED_PORT=${SESSIONQL_REDIS_PORT:-56380}
PREFERRED_CLUSTER_PORT=${SESSIONQL_REDIS_CLUSTER_PORT:-54001}
HOST=127.0.0.1
# The name clients use: the address, or with SESSIONQL_REDIS_TLS=hostname the name on the certificate.
NAME=$HOST
[[ ${SESSIONQL_REDIS_TLS:-} == hostname ]] && NAME=localhost
SINGLE=$DIR/single
CLUSTER=$DIR/cluster
PASSWORD=${SESSIONQL_REDIS_PASSWORD:-}
TLS=${SESSIONQL_REDIS_TLS:-}
TLS_DIR=$DIR/tls
# redis-cli (and --cluster create) read the password from here, without warning about it on the command line.
[[ -n $PASSWORD ]] && export REDISCLI_AUTH=$PASSWORD
TLS_CLI=()
[[ -n $TLS ]] && TLS_CLI=(--tls --cacert "$TLS_DIR/ca.crt")

say() { printf 'redis.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

ensure_binaries() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null || die "redis-server not found; install it (as root: apt-get install redis-server)"
  say "installing redis-server with apt (Debian's service is left stopped)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  # policy-rc.d 101: the package's service is not started on install.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [[ -e $policy ]] && had_policy=1
  if ((!had_policy)); then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"; fi
  apt-get install -y -qq --no-install-recommends redis-server >&2 || {
    ((had_policy)) || rm -f "$policy"
    die "could not install redis-server"
  }
  ((had_policy)) || rm -f "$policy"
}

cli() {
  local port=$1
  shift
  redis-cli "${TLS_CLI[@]}" -h "$HOST" -p "$port" "$@"
}
# Bounded: something else listening on the port (not Redis) must not hang the script.
up() { [[ $(timeout 2 redis-cli "${TLS_CLI[@]}" -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

# A CA and a certificate for 127.0.0.1 / localhost signed by it, made once per folder.
ensure_tls_files() {
  [[ -f $TLS_DIR/redis.crt ]] && return 0
  command -v openssl >/dev/null || die "SESSIONQL_REDIS_TLS needs openssl"
  mkdir -p "$TLS_DIR"
  say "making a throwaway CA and a certificate for $NAME in $TLS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=sessionql test CA" \
    -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" 2>/dev/null || die "openssl: the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$HOST" -keyout "$TLS_DIR/redis.key" -out "$TLS_DIR/redis.csr" 2>/dev/null ||
    die "openssl: the request"
  if [[ $NAME == "$HOST" ]]; then
    printf 'subjectAltName=IP:%s,DNS:localhost\n' "$HOST" >"$TLS_DIR/san.ext"
  else
    printf 'subjectAltName=DNS:%s\n' "$NAME" >"$TLS_DIR/san.ext"
  fi
  openssl x509 -req -in "$TLS_DIR/redis.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" -CAcreateserial -days 30 \
    -extfile "$TLS_DIR/san.ext" -out "$TLS_DIR/redis.crt" 2>/dev/null || die "openssl: the certificate"
}

# True when nothing holds 127.0.0.1:$1.
port_free() {
  node -e '
    const s = require("net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));
  ' "$1" 2>/dev/null
}

any_free_port() {
  node -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => console.log(port)); });
  '
}

# start_server DIR PORT [cluster]: a daemon with its config, pidfile and log in DIR.
start_server() {
  local d=$1 port=$2 kind=${3:-}
  mkdir -p "$d"
  {
    echo "# scripts/redis.sh: throwaway, loopback only, nothing persisted"
    echo "bind $HOST"
    if [[ -n $TLS ]]; then
      echo "port 0"
      echo "tls-port $port"
      echo "tls-cert-file $TLS_DIR/redis.crt"
      echo "tls-key-file $TLS_DIR/redis.key"
      echo "tls-ca-cert-file $TLS_DIR/ca.crt"
      echo "tls-auth-clients no"
      echo "tls-replication yes"
      [[ $kind == cluster ]] && echo "tls-cluster yes"
      if [[ $kind == cluster && $NAME != "$HOST" ]]; then
        echo "cluster-announce-hostname $NAME"
        echo "cluster-preferred-endpoint-type hostname"
      fi
    else
      echo "port $port"
    fi
    if [[ -n $PASSWORD ]]; then
      echo "requirepass \"$PASSWORD\""
      echo "masterauth \"$PASSWORD\""
    fi
    echo "dir $d"
    echo "daemonize yes"
    echo "pidfile $d/redis.pid"
    echo "logfile $d/redis.log"
    echo 'save ""'
    echo "appendonly no"
    if [[ $kind == cluster ]]; then
      echo "cluster-enabled yes"
      echo "cluster-config-file nodes.conf"
      # Failure detection takes this long; a replica's takeover follows within about a second.
      echo "cluster-node-timeout 5000"
      # A replica (a new one, or a killed master back as a replica) syncs at once, not after 5 s.
      echo "repl-diskless-sync-delay 0"
    fi
  } >"$d/redis.conf"
  echo "$port" >"$d/port"
  redis-server "$d/redis.conf" >&2 || return 1
  local i
  for ((i = 0; i < 100; i++)); do
    up "$port" && return 0
    sleep 0.1
  done
  tail -n 20 "$d/redis.log" >&2 || true
  return 1
}

stop_server() {
  local d=$1 port pid i
  [[ -f $d/port ]] || return 0
  port=$(<"$d/port")
  pid=$(cat "$d/redis.pid" 2>/dev/null || true)
  cli "$port" shutdown nosave >/dev/null 2>&1 || true
  if [[ -n $pid ]]; then
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      # Exited, not yet reaped (a daemon's parent is init, which may take a second or two).
      [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$d/port" "$d/redis.pid"
}

# redis:// or rediss://, with the password (percent-encoded) when there is one.
scheme() { if [[ -n $TLS ]]; then echo rediss; else echo redis; fi; }
userinfo() {
  [[ -n $PASSWORD ]] || return 0
  printf ':%s@' "$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$PASSWORD")"
}
url_for() { printf '%s://%s%s:%s\n' "$(scheme)" "$(userinfo)" "$NAME" "$1"; }

cmd_start() {
  ensure_binaries
  [[ -z $TLS ]] || ensure_tls_files
  if [[ -f $SINGLE/port ]] && up "$(<"$SINGLE/port")"; then
    say "already running ($SINGLE)"
    url_for "$(<"$SINGLE/port")"
    return 0
  fi
  local port attempt
  for attempt in 1 2 3; do
    if port_free "$PREFERRED_PORT"; then port=$PREFERRED_PORT; else port=$(any_free_port); fi
    say "starting redis-server on $HOST:$port (log: $SINGLE/redis.log)"
    if start_server "$SINGLE" "$port"; then
      url_for "$port"
      return 0
    fi
    stop_server "$SINGLE"
    PREFERRED_PORT=$(any_free_port)
  done
  die "redis-server did not start"
}

cmd_url() {
  [[ -f $SINGLE/port ]] && up "$(<"$SINGLE/port")" || die "not running; run: $0 start"
  url_for "$(<"$SINGLE/port")"
}

cluster_ports() { cat "$CLUSTER"/*/port 2>/dev/null | sort -n; }
# host:port,…; with a password or TLS, the first as a URL carrying them (they apply to every node).
nodes_line() {
  local line
  line=$(cluster_ports | sed "s/^/$NAME:/" | paste -sd, -)
  if [[ -n $PASSWORD || -n $TLS ]]; then line="$(scheme)://$(userinfo)$line"; fi
  echo "$line"
}
cluster_ok() {
  local ports p
  ports=$(cluster_ports)
  [[ $(wc -w <<<"$ports") -eq 6 ]] || return 1
  for p in $ports; do
    cli "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}
# Every master has a replica in sync (so writes that WAIT for one can succeed).
replicas_online() {
  local p
  for p in $(cluster_ports); do
    cli "$p" info replication 2>/dev/null | grep -q '^role:master' || continue
    cli "$p" info replication 2>/dev/null | grep -q '^slave0:.*state=online' || return 1
  done
}

# Six consecutive ports from $1, each free with its bus port (+10000), all ≤ 55535.
six_free_from() {
  local base=$1 i
  ((base + 5 <= 55535)) || return 1
  for ((i = 0; i < 6; i++)); do
    port_free $((base + i)) && port_free $((base + i + 10000)) || return 1
  done
}

cmd_cluster_start() {
  ensure_binaries
  [[ -z $TLS ]] || ensure_tls_files
  if cluster_ok; then
    say "cluster already running ($CLUSTER)"
    nodes_line
    return 0
  fi
  cmd_cluster_stop
  rm -rf "$CLUSTER"
  local base=$PREFERRED_CLUSTER_PORT tries=0 attempt i port addrs=()
  # A port checked free can be taken before the node binds it (a client's ephemeral port: the
  # range overlaps these): then stop what started and try the next six.
  for attempt in 1 2 3 4 5; do
    until six_free_from "$base"; do
      base=$((base + 6))
      ((base + 5 <= 55535)) || base=30001
      ((++tries < 200)) || die "no 6 free ports (with their bus ports) found"
    done
    addrs=()
    for ((i = 0; i < 6; i++)); do
      port=$((base + i))
      say "starting cluster node on $HOST:$port (bus $((port + 10000)))"
      start_server "$CLUSTER/$port" "$port" cluster || break
      addrs+=("$HOST:$port")
    done
    ((${#addrs[@]} == 6)) && break
    say "cluster node $port did not start (attempt $attempt): trying other ports"
    cmd_cluster_stop
    rm -rf "$CLUSTER"
    base=$((base + 6))
    ((base + 5 <= 55535)) || base=30001
  done
  ((${#addrs[@]} == 6)) || die "the cluster's nodes did not start"
  say "creating the cluster: 3 masters, 3 replicas"
  redis-cli "${TLS_CLI[@]}" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >&2 || die "redis-cli --cluster create failed"
  for ((i = 0; i < 300; i++)); do
    if cluster_ok && replicas_online; then
      say "cluster_state:ok, every replica in sync"
      nodes_line
      return 0
    fi
    sleep 0.1
  done
  die "the cluster did not reach cluster_state:ok"
}

cmd_cluster_stop() {
  local d
  for d in "$CLUSTER"/*/; do
    [[ -d $d ]] && stop_server "${d%/}"
  done
  return 0
}

cmd_cluster_nodes() {
  cluster_ok || die "no cluster running with cluster_state:ok; run: $0 cluster-start"
  nodes_line
}

# The master serving slot $1, asked of the first node that answers.
cmd_cluster_master() {
  local slot=${1:-} p
  [[ $slot =~ ^[0-9]+$ ]] && ((slot < 16384)) || die "usage: $0 cluster-master SLOT (0-16383)"
  for p in $(cluster_ports); do
    up "$p" || continue
    # CLUSTER NODES: id host:port@bus flags master ping pong epoch link slot-range…
    cli "$p" cluster nodes 2>/dev/null | awk -v slot="$slot" '
      $3 ~ /master/ && $3 !~ /(^|,)fail(,|$)/ {
        for (i = 9; i <= NF; i++) {
          n = split($i, r, "-")
          if ($i !~ /^\[/ && slot >= r[1] + 0 && slot <= r[n] + 0) { split($2, a, "@"); print a[1]; exit }
        }
      }' | grep . && return 0
  done
  die "no node answers with the master of slot $slot"
}

node_dir() {
  local port=${1:-}
  [[ $port =~ ^[0-9]+$ && -f $CLUSTER/$port/redis.conf ]] || die "no cluster node on port '$port' in $CLUSTER"
  echo "$CLUSTER/$port"
}

cmd_cluster_kill() {
  local d pid
  d=$(node_dir "${1:-}")
  pid=$(cat "$d/redis.pid" 2>/dev/null) || die "node $1 is not running"
  kill -9 "$pid" 2>/dev/null || die "node $1 (pid $pid) is not running"
  rm -f "$d/redis.pid"
  say "killed node $1 (pid $pid)"
}

cmd_cluster_restart() {
  local d port i
  d=$(node_dir "${1:-}")
  port=$1
  up "$port" && die "node $port is running"
  redis-server "$d/redis.conf" >&2 || die "node $port did not start"
  for ((i = 0; i < 100; i++)); do
    up "$port" && return 0
    sleep 0.1
  done
  die "node $port did not answer"
}

case ${1:-} in
  start) cmd_start ;;
  stop) stop_server "$SINGLE" ;;
  url) cmd_url ;;
  cluster-start) cmd_cluster_start ;;
  cluster-stop) cmd_cluster_stop ;;
  cluster-nodes) cmd_cluster_nodes ;;
  cluster-master) cmd_cluster_master "${2:-}" ;;
  cluster-kill) cmd_cluster_kill "${2:-}" ;;
  cluster-restart) cmd_cluster_restart "${2:-}" ;;
  *)
    echo "usage: $0 start|stop|url|cluster-start|cluster-stop|cluster-nodes|cluster-master SLOT|cluster-kill PORT|cluster-restart PORT   (data: $DIR)" >&2
    exit 2
    ;;
esac
