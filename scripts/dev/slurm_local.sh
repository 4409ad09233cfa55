#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, to try autoenc's cluster path:
#
#   scripts/dev/slurm_local.sh start     # munged + slurmctld + slurmd, config under $AUTOENC_SLURM_DIR
#   export SLURM_CONF=/tmp/autoenc-slurm/slurm.conf   # (printed by start) for sbatch/squeue/...
#   python train.py -m hydra/launcher=slurm hydra.launcher.partition=local ...
#   scripts/dev/slurm_local.sh stop      # ends the daemons it started, removes the folder
#
# Installs nothing: it needs Debian's slurm-wlm and munge packages (apt-get install slurm-wlm
# munge) and root (slurmd runs jobs as their user). Everything it writes (munge key, config,
# state, logs) is under $AUTOENC_SLURM_DIR (default /tmp/autoenc-slurm); it stops only the
# processes whose pid files are there. One partition, "local", with this node's CPUs and memory.
set -euo pipefail

DIR="${AUTOENC_SLURM_DIR:-/tmp/autoenc-slurm}"
PARTITION="${AUTOENC_SLURM_PARTITION:-local}"

die() { echo "slurm_local: $*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
    for tool in munged slurmctld slurmd sinfo sbatch; do
        command -v "$tool" >/dev/null || die "$tool not found: install Debian's slurm-wlm and munge packages (apt-get install slurm-wlm munge)"
    done
    [ "$(id -u)" -eq 0 ] || die "run it as root: slurmd starts jobs as their user"
    [ -e "$DIR/slurmctld.pid" ] && die "already started in $DIR (scripts/dev/slurm_local.sh stop first)"
    mkdir -p "$DIR"/{state,spool,munge}
    chmod 700 "$DIR/munge"

    # munge: a key and a socket of our own, not the system's
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
    chmod 400 "$DIR/munge/munge.key"
    munged --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed" --force

    local host cpus mem_mb
    host="$(hostname -s)"
    cpus="$(nproc)"
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))  # 1 GiB left to the system
    cat > "$DIR/slurm.conf" <<EOF
ClusterName=autoenc-local
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$DIR/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 1 60); do
        state="$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)"
        [ "$state" = "idle" ] && break
        sleep 0.5
    done
    [ "$state" = "idle" ] || { stop; die "the node did not come up (state '${state:-none}'); see the logs before this: $DIR/*.log"; }
    echo "slurm_local: cluster up: partition $PARTITION, node $host ($cpus CPUs, $mem_mb MB), SLURM $(sinfo -V | cut -d' ' -f2)"
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop() {
    [ -d "$DIR" ] || { echo "slurm_local: nothing started in $DIR"; return 0; }
    export SLURM_CONF="$DIR/slurm.conf"
    [ -e "$DIR/slurmctld.pid" ] && scancel --full --quiet --user=root 2>/dev/null || true
    for daemon in slurmd slurmctld munged; do
        if [ -e "$DIR/$daemon.pid" ]; then
            pid="$(cat "$DIR/$daemon.pid")"
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        fi
    done
    rm -rf "$DIR"
    echo "slurm_local: stopped, $DIR removed"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
