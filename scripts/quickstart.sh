#!/usr/bin/env bash
# From a fresh Debian 12 machine: installs dependencies, builds and installs berth, starts berthd
# on the default paths (/run/berth/berthd.sock, /var/lib/berth) and shows it working.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "quickstart: run as root" >&2; exit 1; }
scripts/install-deps.sh
scripts/build.sh
cmake --install "${BUILD_DIR:-build}" --prefix /usr/local >/dev/null
install -D -m 0644 contrib/systemd/berthd.service /etc/systemd/system/berthd.service

SOCK=/run/berth/berthd.sock
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable berthd >/dev/null 2>&1
  systemctl restart berthd
else
  # No systemd (a container or a minimal VM): run berthd in the background.
  if [[ -f /run/berth/berthd.pid ]] && kill -0 "$(cat /run/berth/berthd.pid)" 2>/dev/null; then
    kill "$(cat /run/berth/berthd.pid)"
    while kill -0 "$(cat /run/berth/berthd.pid)" 2>/dev/null; do sleep 0.1; done
  fi
  mkdir -p /run/berth
  nohup /usr/local/bin/berthd >>/var/log/berthd.log 2>&1 &
  echo $! >/run/berth/berthd.pid
fi
for _ in $(seq 100); do
  ctr --address "$SOCK" --connect-timeout 1s version >/dev/null 2>&1 && break
  sleep 0.1
done
echo "== berthd is running on $SOCK"
ctr --address "$SOCK" version 2>/dev/null

# A demo container: a busybox-static image built locally (no network needed), imported with the
# stock ctr, then run with the berth CLI: berthd, containerd-shim-berth-v2 and runc.
echo "== running a demo container"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source scripts/lib/busybox_image.sh
T=$work build_busybox_layout "$work/oci" latest
skopeo copy --quiet "oci:$work/oci:latest" "oci-archive:$work/busybox.tar:latest"
ctr --address "$SOCK" images import --base-name docker.io/library/busybox "$work/busybox.tar" >/dev/null
berth --address "$SOCK" images
berth --address "$SOCK" run --rm docker.io/library/busybox:latest \
  sh -c 'echo "hello from a berth container: $(uname -sr), pid $$"'
