// OomWatcher: notices OOM kills in the container's memory cgroup and reports them (the shim
// publishes /tasks/oom). cgroup v1: an eventfd registered through cgroup.event_control on
// memory.oom_control, watched on the Asio loop. On cgroup v2 (or without a memory cgroup)
// Watch() returns Unimplemented and nothing is watched. Loop thread only.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::shim {

class OomWatcher {
 public:
  OomWatcher(boost::asio::io_context& io, std::function<void()> on_oom)
      : efd_(io), on_oom_(std::move(on_oom)) {}
  // Watches the memory cgroup of `pid`. Unimplemented on cgroup v2, errno statuses otherwise.
  Status Watch(int pid);
  // Reports an OOM that is signalled but not yet read, now (so that /tasks/oom goes out before
  // the /tasks/exit of the process it killed).
  void Poll();

 private:
  void Wait();

  boost::asio::posix::stream_descriptor efd_;
  UniqueFd oom_control_;
  std::string cgroup_dir_;
  std::function<void()> on_oom_;
};

}  // namespace berth::shim
