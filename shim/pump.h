// Pump: copies bytes from one fd to another on an Asio loop, one small buffer, one read or
// write in flight. The source is a pipe, FIFO or pty (async); the destination is async too,
// or a regular file written synchronously (epoll cannot watch files). A dead destination
// (EPIPE...) makes the pump discard, so the writer on the other side never blocks. At source
// EOF (or EIO from a pty whose slave is gone) it optionally closes the destination and calls
// on_eof once. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/unique_fd.h"

namespace berth::shim {

class Pump : public std::enable_shared_from_this<Pump> {
 public:
  // `dst_is_file`: write `dst` with plain write(2). `close_dst_at_eof`: close it at EOF
  // (the container's stdin pipe); otherwise it is closed when the Pump is destroyed.
  Pump(boost::asio::io_context& io, UniqueFd src, UniqueFd dst, bool dst_is_file,
       bool close_dst_at_eof, std::function<void()> on_eof);
  ~Pump();
  void Start();
  // Cancels outstanding I/O and closes both fds; on_eof will not run.
  void Stop();

 private:
  void Read();
  void Write(size_t n);
  void Eof();

  boost::asio::posix::stream_descriptor src_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> dst_;
  UniqueFd dst_file_;
  bool close_dst_at_eof_;
  bool dst_dead_ = false;
  bool stopped_ = false;
  std::function<void()> on_eof_;
  std::vector<char> buf_;
};

}  // namespace berth::shim
