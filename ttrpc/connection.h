// FramedConnection<Derived>: the socket half that both ends of a ttrpc connection share: a read
// loop (header, then the payload, or for a payload over kMaxPayload a bounded skip of its bytes)
// and a write queue with at most one async_write in flight.
//
// Derived (which must also derive from std::enable_shared_from_this<Derived>) provides:
//   bool IsClosed() const;               // stop writing once closed
//   void OnIoError();                    // a read or write failed: close
//   void OnFrame(FrameHeader h);         // payload_ holds the frame's bytes; call ReadHeader() to go on
//   void OnOversized(FrameHeader h);     // the payload was skipped; answer or fail that stream
// Thread-safety: everything runs on the socket's executor (one thread).
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <string>

#include "ttrpc/frame.h"

namespace berth::ttrpc {

template <typename Derived>
class FramedConnection {
 protected:
  using stream = boost::asio::local::stream_protocol;

  explicit FramedConnection(stream::socket sock) : sock_(std::move(sock)) {}

  // Queues an encoded frame.
  void Send(std::string frame) {
    out_.push_back(std::move(frame));
    if (!writing_) WriteNext();
  }

  void ReadHeader() {
    boost::asio::async_read(sock_, boost::asio::buffer(hdr_),
                            [self = Self()](const boost::system::error_code& ec, size_t) {
                              if (ec) return self->OnIoError();
                              self->OnHeader();
                            });
  }

  stream::socket sock_;
  std::string payload_;

 private:
  std::shared_ptr<Derived> Self() { return static_cast<Derived*>(this)->shared_from_this(); }

  void WriteNext() {
    if (out_.empty() || static_cast<Derived*>(this)->IsClosed()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    boost::asio::async_write(sock_, boost::asio::buffer(out_.front()),
                             [self = Self()](const boost::system::error_code& ec, size_t) {
                               if (ec) return self->OnIoError();
                               self->out_.pop_front();
                               self->WriteNext();
                             });
  }

  void OnHeader() {
    FrameHeader h = DecodeHeader(hdr_.data());
    if (h.length > kMaxPayload) {
      skip_ = h.length;
      Skip(h);
      return;
    }
    payload_.assign(h.length, '\0');
    boost::asio::async_read(sock_, boost::asio::buffer(payload_),
                            [self = Self(), h](const boost::system::error_code& ec, size_t) {
                              if (ec) return self->OnIoError();
                              self->OnFrame(h);
                            });
  }

  // Drops the bytes of an oversized payload, then lets Derived fail that stream.
  void Skip(FrameHeader h) {
    if (skip_ == 0) {
      static_cast<Derived*>(this)->OnOversized(h);
      ReadHeader();
      return;
    }
    size_t n = std::min<size_t>(skip_, skipbuf_.size());
    sock_.async_read_some(boost::asio::buffer(skipbuf_.data(), n),
                          [self = Self(), h](const boost::system::error_code& ec, size_t got) {
                            if (ec) return self->OnIoError();
                            self->skip_ -= got;
                            self->Skip(h);
                          });
  }

  std::array<uint8_t, kHeaderSize> hdr_{};
  uint64_t skip_ = 0;
  std::array<char, 4096> skipbuf_{};
  std::deque<std::string> out_;
  bool writing_ = false;
};

}  // namespace berth::ttrpc
