#!/usr/bin/env bash
# A throwaway PgBouncer in transaction pooling mode, in front of the
# PostgreSQL that scripts/pg.sh runs (tests, and trying DATABASE_PREPARE=false).
#
#   scripts/pgbouncer.sh start [URL]  start it in front of URL (default: `scripts/pg.sh url`),
#                                     print the postgres:// URL through it (last line of stdout)
#   scripts/pgbouncer.sh stop         stop it
#   scripts/pgbouncer.sh url          print the URL through it if it runs, else exit 1
#
#   PGBOUNCER_URL=$(scripts/pgbouncer.sh start "$(scripts/pg.sh url)")
#
# Everything but the URL goes to stderr. Every database of the server is
# reachable under its own name (a `*` entry). auth_type trust with a
# generated userlist (the URL's user): listening on 127.0.0.1 only, never put
# it in front of data you care about. PgBouncer refuses to run as root: as
# root it runs as the postgres user (which scripts/pg.sh's install creates).
#
# Environment:
#   SESSIONQL_PGBOUNCER_DIR   config, pid and log (default ${TMPDIR:-/tmp}/sessionql-pgbouncer)
#   SESSIONQL_PGBOUNCER_PORT  preferred port (default 56432; another free one if taken)
set -euo pipefail

DIR=${SESSIONQL_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/sessionql-pgbouncer}
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PREFERRED_PORT=${SESSIONQL_PGBOUNCER_PORT:-56432}
CONF=$DIR/pgbouncer.ini
PID_FILE=$DIR/pgbouncer.pid
LOG_FILE=$DIR/pgbouncer.log
URL_FILE=$DIR/url

say() { printf 'pgbouncer.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

as_runner() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

running_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

free_port() {
  node -e '
    const net = require("net");
    const want = Number(process.argv[1]);
    const bind = (port, next) => {
      const s = net.createServer();
      s.once("error", next);
      s.listen(port, "127.0.0.1", () => { const p = s.address().port; s.close(() => console.log(p)); });
    };
    bind(want, () => bind(0, () => process.exit(1)));
  ' "$PREFERRED_PORT"
}

cmd_start() {
  if running_pid >/dev/null; then
    say "already running ($CONF)"
    cat "$URL_FILE"
    return 0
  fi
  command -v pgbouncer >/dev/null || die "pgbouncer not found; install it (as root: apt-get install -y pgbouncer)"
  local backend=${1:-}
  if [[ -z $backend ]]; then
    backend=$(scripts/pg.sh url | tail -n 1) || die "no URL given and scripts/pg.sh is not running"
  fi
  # postgres://user[:password]@host:port/database
  [[ $backend =~ ^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/]+):([0-9]+)/([^?]+) ]] ||
    die "cannot read user@host:port/database from $backend"
  local user=${BASH_REMATCH[2]} password=${BASH_REMATCH[4]} host=${BASH_REMATCH[5]} pgport=${BASH_REMATCH[6]} db=${BASH_REMATCH[7]}
  local port
  port=$(free_port) || die "no free local port found"

  mkdir -p "$DIR"
  [[ $EUID -eq 0 ]] && chown postgres "$DIR"
  # The server side: the URL's password (if any) is what PgBouncer logs in with.
  local server_auth=''
  [[ -n $password ]] && server_auth=" password=$password"
  cat >"$CONF" <<EOF
; sessionql (scripts/pgbouncer.sh): throwaway, transaction pooling, trust on loopback
[databases]
* = host=$host port=$pgport$server_auth

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
admin_users = $user
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
max_db_connections = 60
server_reset_query =
pidfile = $PID_FILE
logfile = $LOG_FILE
log_connections = 0
log_disconnections = 0
EOF
  printf '"%s" "%s"\n' "$user" "$password" >"$DIR/userlist.txt"
  chmod 600 "$DIR/userlist.txt"
  [[ $EUID -eq 0 ]] && chown postgres "$CONF" "$DIR/userlist.txt"
  rm -f "$PID_FILE"
  say "starting PgBouncer (transaction mode) on 127.0.0.1:$port in front of $host:$pgport (log: $LOG_FILE)"
  as_runner pgbouncer -d "$CONF" >&2 || {
    tail -n 20 "$LOG_FILE" >&2 || true
    die "pgbouncer did not start"
  }
  local i
  for ((i = 0; i < 50; i++)); do
    if running_pid >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf 'postgres://%s@127.0.0.1:%s/%s\n' "$user" "$port" "$db" >"$URL_FILE"
      say "ready"
      cat "$URL_FILE"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$LOG_FILE" >&2 || true
  die "PgBouncer started but does not accept connections on 127.0.0.1:$port"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    say "not running ($DIR)"
    return 0
  fi
  say "stopping PgBouncer (PID $pid)"
  kill -INT "$pid"
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || {
      rm -f "$URL_FILE"
      return 0
    }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$URL_FILE"
}

cmd_url() {
  running_pid >/dev/null || die "not running ($DIR); run: $0 start"
  cat "$URL_FILE"
}

case ${1:-} in
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *)
    echo "usage: $0 start [postgres://…]|stop|url   (dir: $DIR)" >&2
    exit 2
    ;;
esac
