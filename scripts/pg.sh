#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests and benchmarks.
#
#   scripts/pg.sh start   initdb if needed, start, print the URL (last line of stdout)
#   scripts/pg.sh stop    stop it (the data stays; remove the data dir to start afresh)
#   scripts/pg.sh url     print the URL if it is running, else exit 1
#
#   DATABASE_URL=$(scripts/pg.sh start) npm test
#
# Everything but the URL goes to stderr. Trust authentication, listening on
# 127.0.0.1 only: never point this at data you care about.
#
# Environment:
#   SESSIONQL_PGDATA  data dir (default ${TMPDIR:-/tmp}/sessionql-pg)
#   SESSIONQL_PGPORT  preferred port (default 55433; another free one if taken)
set -euo pipefail

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PGDATA_DIR=${SESSIONQL_PGDATA:-${TMPDIR:-/tmp}/sessionql-pg}
[[ $PGDATA_DIR == /* ]] || PGDATA_DIR=$PWD/$PGDATA_DIR
PGDATA_DIR=${PGDATA_DIR%/}
PREFERRED_PORT=${SESSIONQL_PGPORT:-55433}
PORT_FILE=$PGDATA_DIR/sessionql.port
LOG_FILE=$PGDATA_DIR/postgresql.log

say() { printf 'pg.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The server refuses to run as root: as root, run its tools as `postgres`
# (from /, as root's working dir may be closed to that user).
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

url_for() { printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$1"; }

ensure_binaries() {
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && return 0
  [[ $EUID -eq 0 ]] || die "$PG_BIN not found; install postgresql-$PG_MAJOR (as root: apt-get install postgresql-$PG_MAJOR)"
  command -v apt-get >/dev/null || die "$PG_BIN not found and apt-get is not available"
  say "installing postgresql-$PG_MAJOR with apt (Debian's default cluster is not created)"
  # Read by pg_createcluster from postgresql-common's createcluster.conf:
  # no "main" cluster is created (nor started) on install.
  mkdir -p /etc/postgresql-common/createcluster.d
  printf '# sessionql: scripts/pg.sh runs its own cluster\ncreate_main_cluster = false\n' \
    >/etc/postgresql-common/createcluster.d/sessionql-no-main.conf
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  if ! apt-get install -y -qq --no-install-recommends "postgresql-$PG_MAJOR" >&2; then
    say "postgresql-$PG_MAJOR not installable, trying the package postgresql"
    apt-get install -y -qq --no-install-recommends postgresql >&2 || die "could not install PostgreSQL"
  fi
  [[ -x $PG_BIN/initdb ]] || die "installed PostgreSQL is not version $PG_MAJOR ($PG_BIN missing)"
  if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "the postgres OS user is missing after install"
  fi
}

is_running() {
  [[ -f $PGDATA_DIR/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

saved_port() {
  [[ -f $PORT_FILE ]] || return 1
  local p
  p=$(<"$PORT_FILE")
  [[ $p =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$p"
}

# True when nothing holds 127.0.0.1:$1 (a real bind when node is at hand).
port_free() {
  local port=$1
  if command -v node >/dev/null; then
    node -e '
      const s = require("net").createServer();
      s.once("error", () => process.exit(1));
      s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));
    ' "$port" 2>/dev/null
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 1; fi
    return 0
  fi
}

# Some free port: one the kernel hands out, else a scan above the preferred one.
any_free_port() {
  local p
  if command -v node >/dev/null; then
    p=$(node -e '
      const s = require("net").createServer();
      s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => console.log(port)); });
    ' 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] && {
      printf '%s\n' "$p"
      return 0
    }
  fi
  for ((p = PREFERRED_PORT + 1; p < PREFERRED_PORT + 200; p++)); do
    if port_free "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  return 1
}

init_cluster() {
  if [[ -e $PGDATA_DIR ]] && [[ -n $(ls -A "$PGDATA_DIR" 2>/dev/null) ]]; then
    die "$PGDATA_DIR exists, is not empty and holds no cluster (no PG_VERSION); remove it or set SESSIONQL_PGDATA"
  fi
  mkdir -p "$PGDATA_DIR"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PGDATA_DIR"
    as_pg test -w "$PGDATA_DIR" ||
      die "the postgres user cannot write $PGDATA_DIR (a parent dir is closed to it?); set SESSIONQL_PGDATA, e.g. under /tmp"
  fi
  chmod 700 "$PGDATA_DIR"
  say "initdb in $PGDATA_DIR"
  local out
  out=$(as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --username=postgres --auth=trust \
    --encoding=UTF8 --locale=C 2>&1) || {
    printf '%s\n' "$out" >&2
    die "initdb failed"
  }

  # A Unix socket in the data dir when its path fits (108 bytes), else none:
  # Debian's default /var/run/postgresql may be missing or not ours.
  local socket_dir=''
  ((${#PGDATA_DIR} < 90)) && socket_dir=$PGDATA_DIR
  as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF

# --- sessionql (scripts/pg.sh): tests and benchmarks; durability left as is (fsync on)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
max_connections = 200
shared_buffers = 256MB
work_mem = 8MB
maintenance_work_mem = 128MB
max_wal_size = 2GB
checkpoint_completion_target = 0.9
logging_collector = off
log_min_messages = warning
log_min_error_statement = error
log_line_prefix = '%m [%p] %q%u@%d '
timezone = 'UTC'
EOF
  as_pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null <<'EOF'
# sessionql (scripts/pg.sh): throwaway cluster, trust on loopback only
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
}

start_on() {
  local port=$1
  say "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$port (log: $LOG_FILE)"
  as_pg tee "$PORT_FILE" >/dev/null <<<"$port"
  as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$LOG_FILE" -o "-p $port" -w -t 60 >&2
}

cmd_start() {
  ensure_binaries
  if is_running; then
    local port
    port=$(saved_port) || die "running from $PGDATA_DIR but $PORT_FILE is missing; run: $0 stop"
    say "already running from $PGDATA_DIR"
    url_for "$port"
    return 0
  fi
  [[ -f $PGDATA_DIR/PG_VERSION ]] || init_cluster

  local port p attempt
  for attempt in 1 2 3; do
    # Keep the last port (a stable URL), else the preferred one, else any free one.
    port=''
    if p=$(saved_port) && port_free "$p"; then
      port=$p
    elif port_free "$PREFERRED_PORT"; then
      port=$PREFERRED_PORT
    else
      port=$(any_free_port) || die "no free local port found"
    fi
    if start_on "$port"; then
      break
    fi
    # Lost a race for the port, or something else: show why, try another port.
    say "start failed (attempt $attempt); last log lines:"
    tail -n 20 "$LOG_FILE" >&2 || true
    if is_running; then
      as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m immediate -w >/dev/null 2>&1 || true
    fi
    [[ $attempt -lt 3 ]] || die "PostgreSQL did not start"
    as_pg rm -f "$PORT_FILE"
    PREFERRED_PORT=$(any_free_port) || die "no free local port found"
  done

  local i
  for ((i = 0; i < 60; i++)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
      say "ready"
      url_for "$port"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$LOG_FILE" >&2 || true
  die "PostgreSQL started but does not accept connections on 127.0.0.1:$port"
}

cmd_stop() {
  if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
    say "no cluster in $PGDATA_DIR"
    return 0
  fi
  if ! is_running; then
    say "not running ($PGDATA_DIR)"
    return 0
  fi
  say "stopping PostgreSQL in $PGDATA_DIR"
  as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 >&2
}

cmd_url() {
  is_running || die "not running ($PGDATA_DIR); run: $0 start"
  local port
  port=$(saved_port) || die "$PORT_FILE is missing"
  url_for "$port"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *)
    echo "usage: $0 start|stop|url   (data dir: $PGDATA_DIR)" >&2
    exit 2
    ;;
esac
