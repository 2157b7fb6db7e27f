#!/usr/bin/env bash
# Make a Docker engine answer on this machine, from Debian's packages (issue 19): for the container test
# (tests/container/) and for building the image where no engine runs as a service (CI, a bare VM).
#   sudo deploy/docker/start-engine.sh     # exit 0: `docker info` answers; exit 1: no engine (the test skips)
# Does nothing when an engine already answers. Else installs docker.io (dockerd, containerd, runc) with apt when
# dockerd is missing, and starts dockerd in the background (no systemd needed) with the overlay2 storage driver,
# or vfs where overlay2 cannot mount; without iptables' NAT (some kernels have none) it starts with
# --iptables=false (containers still reach each other on a user-defined network and published ports still work,
# through docker-proxy). Every wait is bounded; the daemon's log: $PRUM_DOCKERD_LOG (default /var/log/prum-dockerd.log).
set -uo pipefail
log=${PRUM_DOCKERD_LOG:-/var/log/prum-dockerd.log}
answers() { timeout 10 docker info >/dev/null 2>&1; }

if answers; then echo "docker engine: already running"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "docker engine: none answers, and starting one needs root" >&2; exit 1; fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker engine: installing docker.io from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -q >/dev/null 2>&1
    timeout 600 apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 \
        || { echo "docker engine: apt-get install docker.io failed" >&2; exit 1; }
fi
command -v docker >/dev/null 2>&1 || { echo "docker engine: no docker client" >&2; exit 1; }

start() {  # start dockerd with these options; 0 once `docker info` answers (at most 60 s)
    echo "docker engine: dockerd $*"
    nohup dockerd "$@" >>"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 60); do
        answers && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 1
    done
    kill "$pid" 2>/dev/null; sleep 2; return 1
}
for driver in overlay2 vfs; do
    start --storage-driver="$driver" && { echo "docker engine: running ($driver)"; exit 0; }
    start --storage-driver="$driver" --iptables=false --ip-masq=false \
        && { echo "docker engine: running ($driver, no iptables)"; exit 0; }
done
echo "docker engine: dockerd did not start; see $log" >&2
tail -5 "$log" >&2
exit 1
