#include "shim/pump.h"

#include <unistd.h>

#include <boost/asio/write.hpp>

namespace berth::shim {

namespace asio = boost::asio;
constexpr size_t kPumpBuffer = 8192;

Pump::Pump(asio::io_context& io, UniqueFd src, UniqueFd dst, bool dst_is_file,
           bool close_dst_at_eof, std::function<void()> on_eof)
    : src_(io, src.Release()), close_dst_at_eof_(close_dst_at_eof), on_eof_(std::move(on_eof)) {
  if (!dst.valid()) {
    dst_dead_ = true;
  } else if (dst_is_file) {
    dst_file_ = std::move(dst);
  } else {
    dst_ = std::make_unique<asio::posix::stream_descriptor>(io, dst.Release());
  }
}

Pump::~Pump() { Stop(); }

void Pump::Start() {
  buf_.resize(kPumpBuffer);
  Read();
}

void Pump::Stop() {
  stopped_ = true;
  boost::system::error_code ec;
  if (src_.is_open()) src_.close(ec);
  if (dst_ && dst_->is_open()) dst_->close(ec);
  dst_file_.Reset();
}

void Pump::Read() {
  if (stopped_) return;
  src_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](
                                               const boost::system::error_code& ec, size_t n) {
    if (self->stopped_) return;
    if (ec) {
      if (ec == asio::error::interrupted || ec == asio::error::would_block) {
        self->Read();
        return;
      }
      self->Eof();  // EOF, or EIO from a pty master once the slave is closed
      return;
    }
    self->Write(n);
  });
}

void Pump::Write(size_t n) {
  if (dst_dead_) {
    Read();
    return;
  }
  if (dst_file_) {
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(dst_file_.get(), buf_.data() + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        dst_dead_ = true;
        break;
      }
      off += static_cast<size_t>(w);
    }
    Read();
    return;
  }
  asio::async_write(*dst_, asio::buffer(buf_.data(), n),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      if (self->stopped_) return;
                      if (ec) self->dst_dead_ = true;
                      self->Read();
                    });
}

void Pump::Eof() {
  boost::system::error_code ec;
  src_.close(ec);
  if (close_dst_at_eof_) {
    if (dst_ && dst_->is_open()) dst_->close(ec);
    dst_file_.Reset();
  }
  buf_.clear();
  buf_.shrink_to_fit();
  auto cb = std::move(on_eof_);
  on_eof_ = nullptr;
  if (cb) cb();
}

}  // namespace berth::shim
