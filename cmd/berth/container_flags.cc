#include "cmd/berth/container_flags.h"

namespace berth::cli {

void AddContainerFlags(CLI::App* c, ContainerFlags& f, bool with_run) {
  c->set_help_flag("--help", "print this help and exit");
  if (with_run) {
    c->add_flag("-d,--detach", f.detach, "run in the background and print the container id");
    c->add_flag("--rm", f.rm, "remove the container when it exits");
  }
  c->add_flag("-t,--tty", f.tty, "allocate a terminal");
  c->add_flag("-i,--interactive", f.interactive, "keep stdin open and copy ours to it");
  c->add_option("-e,--env", f.env, "set an environment variable (KEY=VALUE, or KEY to copy ours)")
      ->allow_extra_args(false);
  c->add_option("--env-file", f.env_files, "read environment variables from a file (KEY=VALUE lines, # comments)")
      ->allow_extra_args(false);
  c->add_option("-l,--label", f.labels, "set a container label (KEY=VALUE)")->allow_extra_args(false);
  c->add_option("--label-file", f.label_files, "read labels from a file (KEY=VALUE lines)")->allow_extra_args(false);
  c->add_option("--name", f.name, "container name (its id)");
  c->add_option("-w,--workdir", f.workdir, "working directory of the process");
  c->add_option("-u,--user", f.user, "user: name, uid, name:group or uid:gid");
  c->add_option_function<std::string>(
      "--entrypoint",
      [&f](const std::string& v) {
        f.entrypoint = v;
        f.entrypoint_set = true;
      },
      "replace the image's ENTRYPOINT (\"\" clears it); the image's CMD is dropped too");
  c->add_flag("--init", f.init, "run a tiny init as pid 1 that forwards signals and reaps zombies");

  c->add_option("-m,--memory", f.memory, "memory limit (bytes, or with a unit: 512k, 64m, 1g)");
  c->add_option("--memory-swap", f.memory_swap, "memory plus swap limit (-1: unlimited; default: twice --memory)");
  c->add_option("--memory-reservation", f.memory_reservation, "memory soft limit");
  c->add_option("--cpus", f.cpus, "CPUs the container may use (1.5: one and a half)");
  c->add_option("-c,--cpu-shares", f.cpu_shares, "relative CPU weight (1024 is the default weight)");
  c->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs to run on (0-2,4)");
  c->add_option("--pids-limit", f.pids_limit, "most processes at once (-1 or 0: unlimited)");
  c->add_option("--cap-add", f.cap_add, "add a capability (NET_ADMIN, CAP_SYS_TIME, ALL)")->allow_extra_args(false);
  c->add_option("--cap-drop", f.cap_drop, "drop a capability (CHOWN, ALL)")->allow_extra_args(false);
  c->add_flag("--privileged", f.privileged,
              "every capability, every host device, no seccomp, writable /sys and /proc/sys");
  c->add_option("--security-opt", f.security_opt,
                "seccomp=unconfined|PROFILE.json, no-new-privileges[:true|false], apparmor=unconfined")
      ->allow_extra_args(false);
  c->add_flag("--read-only", f.read_only, "mount the root filesystem read-only");
  c->add_option("--stop-signal", f.stop_signal, "signal `stop` sends first (default: the image's, or TERM)");
  c->add_option("--stop-timeout", f.stop_timeout, "seconds `stop` waits before SIGKILL (default 10)");
  c->add_option("--health-cmd", f.health_cmd, "command run (by /bin/sh -c) in the container to check its health");
  c->add_option("--health-interval", f.health_interval, "time between checks (e.g. 30s, default 30s)");
  c->add_option("--health-timeout", f.health_timeout, "time a check may take (default 30s)");
  c->add_option("--health-start-period", f.health_start_period, "start-up time in which failures do not count");
  c->add_option("--health-retries", f.health_retries, "failures in a row before unhealthy (default 3)");
  c->add_flag("--no-healthcheck", f.no_healthcheck, "disable the image's HEALTHCHECK");
  c->add_option("--ulimit", f.ulimits, "resource limit: NAME=SOFT[:HARD] (nofile=1024:2048, nproc=64)")
      ->allow_extra_args(false);
  c->add_option("--device", f.devices, "add a host device: HOST[:CONTAINER[:rwm]]")->allow_extra_args(false);
  c->add_option("--sysctl", f.sysctls, "set a namespaced kernel parameter (net.ipv4.ip_forward=1)")
      ->allow_extra_args(false);
  c->add_option("--shm-size", f.shm_size, "size of /dev/shm (default 64m)");

  c->add_option("-h,--hostname", f.hostname, "host name inside the container (default: name or short id)");
  c->add_option("--cidfile", f.cidfile, "write the container id to this file (which must not exist)");
  c->add_option("--add-host", f.add_hosts, "add a line to /etc/hosts: HOST:IP")->allow_extra_args(false);
  c->add_option("--network,--net", f.networks,
                "network to join: bridge (default), host, none or a network from `berth network create` (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--network-alias", f.network_aliases, "another name of the container on its user networks")
      ->allow_extra_args(false);
  c->add_option("-p,--publish", f.publish,
                "publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp] (ranges: 8000-8001:80-81)")
      ->allow_extra_args(false);
  c->add_flag("-P,--publish-all", f.publish_all, "publish every port the image EXPOSEs on a free host port");
  c->add_option("--dns", f.dns, "name server for /etc/resolv.conf (default: the host's)")->allow_extra_args(false);
  c->add_option("--dns-search", f.dns_search, "search domain for /etc/resolv.conf")->allow_extra_args(false);
  c->add_option("--dns-option", f.dns_options, "option line for /etc/resolv.conf (ndots:2)")->allow_extra_args(false);

  c->add_option("--pull", f.pull, "pull the image: always, missing (default) or never")
      ->check(CLI::IsMember({"always", "missing", "never"}));
  c->add_option("--platform", f.platform, "image platform (linux/amd64, linux/arm64/v8)");
  c->add_flag("--plain-http", f.plain_http, "pull over HTTP");
  c->add_option("--restart", f.restart,
                "restart policy: no (default), always, on-failure[:MAX], unless-stopped");

  c->add_option("-v,--volume", f.volumes,
                "mount a host path or named volume: SRC:DEST[:ro|rw], or DEST for an anonymous volume")
      ->allow_extra_args(false);
  c->add_option("--mount", f.mounts,
                "mount: type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]")
      ->allow_extra_args(false);
  c->add_option("--tmpfs", f.tmpfs, "mount a tmpfs: DEST[:OPTIONS] (size=64m,mode=1777)")->allow_extra_args(false);

  c->add_option("--runtime", f.runtime, "shim v2 runtime")->capture_default_str();
  c->add_option("--snapshotter", f.snapshotter, "snapshotter")->capture_default_str();
  c->add_option("image", f.image, "image name")->required();
  c->prefix_command();
}

}  // namespace berth::cli
