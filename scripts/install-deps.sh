#!/usr/bin/env bash
# Installs every build, test and runtime dependency of berth from Debian 12's archive.
# Idempotent: packages already present are left alone.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # API: gRPC + Protobuf
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # core libraries
  libboost-dev libboost-system-dev libarchive-dev libssl-dev libcurl4-openssl-dev
  libsqlite3-dev nlohmann-json3-dev libseccomp-dev libcap-dev libtomlplusplus-dev
  libcli11-dev libyaml-cpp-dev libsystemd-dev libzstd-dev zlib1g-dev ccache
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # CI's hardening stage (scripts/ci-hardening.sh): clang with libFuzzer and its sanitizer runtimes
  # (libclang-rt-14-dev is only a recommendation of clang-14), the sqlite3 CLI (integrity checks)
  clang libclang-rt-14-dev sqlite3
  # runtime and integration-test peers
  runc crun criu containerd docker-registry skopeo umoci busybox-static
  # registry auth and TLS in tests/integration/test_berth_registry.sh (htpasswd -B, a CA)
  apache2-utils openssl
  util-linux procps e2fsprogs iproute2 psmisc bsdextrautils systemd curl python3 ca-certificates zstd
  # CNI networking (network/: the CRI server's pods, the CLI's networks, tests/integration/test_network.sh)
  containernetworking-plugins iptables
  # Docker Engine on berthd (tests/integration/test_docker.sh runs its own dockerd under /tmp)
  docker.io docker-compose
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packaged daemons (containerd, docker-registry) from being started by apt:
# berth's tests start their own instances on private roots and ports.
had_policy=0
[[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
if ((had_policy == 0)); then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
trap '((had_policy == 0)) && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian's docker.io enables docker.service and docker.socket on install (policy-rc.d only stops it
# from starting them now): a host that did not have Docker must not get a dockerd on
# /var/lib/docker at its next boot because berth's tests needed the binaries.
if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null; then
  systemctl disable docker.service docker.socket >/dev/null 2>&1 || true
fi
