#include "ttrpc/frame.h"

#include "google/rpc/status.pb.h"

namespace berth::ttrpc {
namespace {

void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

void EncodeHeader(const FrameHeader& h, uint8_t* out) {
  PutBE32(out, h.length);
  PutBE32(out + 4, h.stream_id);
  out[8] = h.type;
  out[9] = h.flags;
}

FrameHeader DecodeHeader(const uint8_t* in) {
  FrameHeader h;
  h.length = GetBE32(in);
  h.stream_id = GetBE32(in + 4);
  h.type = in[8];
  h.flags = in[9];
  return h;
}

std::string EncodeFrame(uint32_t stream_id, uint8_t type, std::string_view payload) {
  std::string out(kHeaderSize + payload.size(), '\0');
  FrameHeader h{static_cast<uint32_t>(payload.size()), stream_id, type, 0};
  EncodeHeader(h, reinterpret_cast<uint8_t*>(out.data()));
  out.replace(kHeaderSize, payload.size(), payload);
  return out;
}

Status CheckPayloadSize(size_t size) {
  if (size > kMaxPayload) {
    return absl::ResourceExhaustedError(
        StrCat("message length ", size, " exceed maximum message size of ", kMaxPayload));
  }
  return absl::OkStatus();
}

void FrameParser::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (skip_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(skip_, bytes.size()));
      skip_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    if (!header_) {
      size_t need = kHeaderSize - buf_.size();
      size_t n = std::min(need, bytes.size());
      buf_.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
      if (buf_.size() < kHeaderSize) return;
      FrameHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(buf_.data()));
      buf_.clear();
      if (h.length > kMaxPayload) {
        ready_.push_back(Frame{h, {}, true});
        skip_ = h.length;
        continue;
      }
      header_ = h;
    }
    size_t need = header_->length - buf_.size();
    size_t n = std::min(need, bytes.size());
    buf_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (buf_.size() == header_->length) {
      ready_.push_back(Frame{*header_, std::move(buf_), false});
      buf_.clear();
      header_.reset();
    }
  }
  // A zero-length frame completes as soon as its header is in.
  if (header_ && header_->length == 0) {
    ready_.push_back(Frame{*header_, {}, false});
    header_.reset();
  }
}

std::optional<Frame> FrameParser::Next() {
  if (ready_pos_ >= ready_.size()) {
    ready_.clear();
    ready_pos_ = 0;
    return std::nullopt;
  }
  return std::move(ready_[ready_pos_++]);
}

Status StatusFromProto(const google::rpc::Status& s) {
  if (s.code() == 0) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(s.code());
  if (s.code() < 0 || s.code() > 16) code = absl::StatusCode::kUnknown;
  return Status(code, s.message());
}

void StatusToProto(const Status& s, google::rpc::Status* out) {
  out->set_code(static_cast<int32_t>(s.code()));
  out->set_message(std::string(s.message()));
}

}  // namespace berth::ttrpc
