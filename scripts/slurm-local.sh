#!/usr/bin/env bash
# A single-node SLURM cluster on localhost, for the SLURM tests and CI.
#
#   scripts/slurm-local.sh start    install (apt, if the binaries are missing) and start it; idempotent
#   scripts/slurm-local.sh stop     stop every daemon this script started (state is kept)
#   scripts/slurm-local.sh purge    stop, then delete the state (job ids restart at 1 afterwards)
#   scripts/slurm-local.sh status   say whether it is up, with sinfo
#
# Needs root (it starts daemons and writes /etc/slurm/slurm.conf, where the SLURM client commands
# look). No systemd: munged, mariadbd, slurmdbd, slurmctld and slurmd run as plain daemons. One node
# (this host: CPUs from nproc, RealMemory a bit under `slurmd -C`), one partition `debug`, accounting
# through slurmdbd + MariaDB so `sacct` works (submitit learns job states through sacct; without it
# states stay UNKNOWN). Every daemon's state, log and pid file lives under $BENCH_SLURM_STATE
# (default /tmp/bench-slurm). Ports: slurmctld 6817, slurmd 6818, slurmdbd 6819, MariaDB 3307
# (127.0.0.1 only); override with BENCH_SLURM_{CTLD,D,DBD,DB}_PORT.
set -euo pipefail

STATE=${BENCH_SLURM_STATE:-/tmp/bench-slurm}
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
CLUSTER=bench
PARTITION=debug
CTLD_PORT=${BENCH_SLURM_CTLD_PORT:-6817}
D_PORT=${BENCH_SLURM_D_PORT:-6818}
DBD_PORT=${BENCH_SLURM_DBD_PORT:-6819}
DB_PORT=${BENCH_SLURM_DB_PORT:-3307}
DB_PASS=bench-slurm-local   # a throw-away password for a database bound to 127.0.0.1 only
LOG=$STATE/log
T0=$(date +%s)

say() { echo "slurm-local: $*" >&2; }
die() {
  say "FAILED: $*"
  for f in "$LOG"/*.log "$STATE"/munge/*.log "$STATE"/mysql-run/*.log; do
    [ -s "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND (quietly) until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what did not come up within ${limit}s"
    sleep 0.5
  done
}

running() { # running PIDFILE: the process named in PIDFILE is alive
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

node_name() { hostname -s; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged/slurmctld/slurmd and writes $CONF); try: sudo $0 $*"
}

install_if_missing() {
  local missing=""
  for bin in munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd sbatch sacct; do
    command -v "$bin" >/dev/null 2>&1 || missing="$missing $bin"
  done
  [ -z "$missing" ] && return 0
  say "missing:$missing; installing slurm-wlm slurmdbd mariadb-server munge with apt"
  command -v apt-get >/dev/null 2>&1 || die "no apt-get: install SLURM (slurmctld, slurmd, slurmdbd), MariaDB and munge yourself"
  mkdir -p "$LOG"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd mariadb-server munge; } \
       >"$LOG/apt.log" 2>&1; then
    tail -n 20 "$LOG/apt.log" >&2
    die "apt-get install failed (full log: $LOG/apt.log)"
  fi
}

healthy() { # the whole stack answers: controller up, node usable, accounting reachable
  running "$STATE/slurmctld.pid" && running "$STATE/slurmd.pid" && running "$STATE/slurmdbd.pid" || return 1
  local st
  st=$(sinfo -h -n "$(node_name)" -o %T 2>/dev/null | head -n1) || return 1
  case "$st" in idle*|mix*|alloc*|completing*) ;; *) return 1 ;; esac
  sacct -n -X -S now-1minutes >/dev/null 2>&1
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  mkdir -p /run/munge /var/lib/munge "$STATE/munge" "$LOG"
  chown munge:munge /run/munge /var/lib/munge "$STATE/munge"
  chmod 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null 2>&1; then mungekey --create --force; else
      dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- munged --force --log-file="$STATE/munge/munged.log" --pid-file=/run/munge/munged.pid \
    || die "munged did not start"
  wait_for 20 "munged" sh -c 'munge -n | unmunge'
}

start_mariadb() {
  local data=$STATE/mysql run=$STATE/mysql-run
  local sock=$run/mysqld.sock
  if running "$run/mariadbd.pid" && mariadb-admin --socket="$sock" ping >/dev/null 2>&1; then return 0; fi
  mkdir -p "$run"
  chown mysql:mysql "$run"   # mariadbd runs as mysql: its socket, pid and log live here
  if [ ! -d "$data/mysql" ]; then
    mkdir -p "$data"
    chown mysql:mysql "$data"
    mariadb-install-db --user=mysql --datadir="$data" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
  fi
  nohup mariadbd --user=mysql --datadir="$data" --socket="$sock" --pid-file="$run/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --skip-name-resolve --log-error="$run/mariadbd.log" \
    --innodb-buffer-pool-size=64M >/dev/null 2>&1 &
  wait_for 60 "mariadbd" mariadb-admin --socket="$sock" ping
  # the pid file appears a moment after the socket answers
  wait_for 10 "mariadbd pid file" test -s "$run/mariadbd.pid"
  mariadb --socket="$sock" -u root <<SQL || die "could not create the slurm database user"
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
}

write_configs() {
  local node cpus mem
  node=$(node_name)
  cpus=$(nproc)
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  [ -n "$mem" ] || die "could not read RealMemory from 'slurmd -C'"
  mem=$((mem * 9 / 10))   # a bit under what slurmd sees, so the node never registers as short of memory
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" "$LOG"
  cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm-local.sh: a single-node test cluster on localhost.
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
# Short kill wait so a cancelled job's process is gone within seconds.
KillWait=5
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
  umask 077
  cat >"$DBD_CONF.tmp" <<EOF
# Written by scripts/slurm-local.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
  umask 022
  chmod 600 "$DBD_CONF.tmp"
  mv "$DBD_CONF.tmp" "$DBD_CONF"
}

start_slurm() {
  if ! running "$STATE/slurmdbd.pid"; then
    slurmdbd || die "slurmdbd did not start"
  fi
  wait_for 60 "slurmdbd" sacctmgr -n list cluster
  if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "could not register cluster $CLUSTER with slurmdbd"
  fi
  if ! running "$STATE/slurmctld.pid"; then
    slurmctld || die "slurmctld did not start"
  fi
  wait_for 60 "slurmctld" scontrol ping
  if ! running "$STATE/slurmd.pid"; then
    slurmd || die "slurmd did not start"
  fi
  local node
  node=$(node_name)
  node_ok() { sinfo -h -n "$node" -o %T | grep -Eq '^(idle|mix|alloc|completing)'; }
  local deadline=$(($(date +%s) + 60))
  until node_ok 2>/dev/null; do
    if sinfo -h -n "$node" -o %T 2>/dev/null | grep -Eq '^(down|drain)'; then
      scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "node $node is not usable: $(sinfo -h -n "$node" -o '%T %E' 2>&1)"
    sleep 0.5
  done
  wait_for 30 "sacct (accounting through slurmdbd)" sacct -n -X -S now-1minutes
}

cmd_start() {
  need_root start
  if command -v sinfo >/dev/null 2>&1 && healthy; then
    say "already running ($(sinfo -h -o '%P %D node(s) %c CPUs %T'))"
    return 0
  fi
  install_if_missing
  mkdir -p "$STATE" "$LOG"
  start_munge
  start_mariadb
  write_configs
  start_slurm
  say "ready in $(($(date +%s) - T0)) s: cluster $CLUSTER, $(sinfo -h -o 'partition %P, %D node(s), %c CPUs, state %T'); state in $STATE"
}

stop_pidfile() { # stop_pidfile NAME PIDFILE
  local name=$1 pidfile=$2
  running "$pidfile" || return 0
  local pid
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.25
  done
  say "$name (pid $pid) did not stop in 10 s; sending SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

cmd_stop() {
  need_root stop
  stop_pidfile slurmd "$STATE/slurmd.pid"
  stop_pidfile slurmctld "$STATE/slurmctld.pid"
  stop_pidfile slurmdbd "$STATE/slurmdbd.pid"
  stop_pidfile mariadbd "$STATE/mysql-run/mariadbd.pid"
  stop_pidfile munged /run/munge/munged.pid
  say "stopped (state kept in $STATE)"
}

cmd_status() {
  if command -v sinfo >/dev/null 2>&1 && healthy; then
    say "running"
    sinfo
    return 0
  fi
  say "not running (start it with: $0 start)"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  purge) cmd_stop; rm -rf "$STATE"; say "state removed" ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|purge|status" >&2; exit 2 ;;
esac
