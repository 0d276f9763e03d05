// Helpers for ttrpc tests: a server on its own io thread and a raw blocking socket that speaks
// hand-built frames.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "common/fs.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc::testing {

class TempSocketDir {
 public:
  TempSocketDir() {
    char tmpl[] = "/tmp/berth-ttrpc-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TempSocketDir() { (void)RemoveAll(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// A Server whose io_context runs on a background thread between Start() and the destructor.
class ServerFixture {
 public:
  ServerFixture() : server(io) {}
  ~ServerFixture() { Stop(); }
  void Start(const std::string& path) {
    ASSERT_TRUE(server.Listen(path).ok());
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io);
      io.run();
    });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io, [this] { server.Close(); });
    boost::asio::post(io, [this] { io.stop(); });
    thread_.join();
  }
  boost::asio::io_context io;
  Server server;

 private:
  std::thread thread_;
};

inline int DialRaw(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads exactly n bytes, waiting at most 5 s per chunk. nullopt on EOF/timeout.
inline std::optional<std::string> ReadExact(int fd, size_t n) {
  std::string out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t r = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (r <= 0) return std::nullopt;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

inline std::optional<Frame> ReadFrame(int fd) {
  auto hdr = ReadExact(fd, kHeaderSize);
  if (!hdr) return std::nullopt;
  Frame f;
  f.header = DecodeHeader(reinterpret_cast<const uint8_t*>(hdr->data()));
  auto body = ReadExact(fd, f.header.length);
  if (!body) return std::nullopt;
  f.payload = std::move(*body);
  return f;
}

inline std::string RequestFrame(uint32_t id, const std::string& service, const std::string& method,
                                const std::string& payload) {
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  return EncodeFrame(id, kRequest, req.SerializeAsString());
}

}  // namespace berth::ttrpc::testing
