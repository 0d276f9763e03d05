// ttrpc wire framing (containerd/ttrpc 1.1.x, the version containerd 1.6 speaks).
//
// Every message on a ttrpc connection is one frame: a 10-byte header followed by `length` bytes
// of payload. The header is: payload length (big-endian uint32, header excluded), stream id
// (big-endian uint32), message type (1 = request, 2 = response) and flags (always 0 in 1.1.x).
// A request frame carries an encoded ttrpc.Request, a response frame an encoded ttrpc.Response
// (api/ttrpc/ttrpc.proto). Clients use odd stream ids (1, 3, 5, ...); the answer to a request
// travels on the request's stream id. Payloads above kMaxPayload (4 MiB) are refused: the
// receiver discards the bytes and the call fails with ResourceExhausted.
//
// This file holds pure functions (no I/O) plus a small incremental FrameParser used by tests
// and the fuzzer; the asynchronous readers in server.cc / client.cc use the same header codec.
// Everything here is thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace google::rpc {
class Status;
}

namespace berth::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxPayload = 4u << 20;

enum MessageType : uint8_t { kRequest = 1, kResponse = 2 };

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

// Writes the 10 header bytes into `out`.
void EncodeHeader(const FrameHeader& h, uint8_t* out);
// Reads the 10 header bytes at `in`.
FrameHeader DecodeHeader(const uint8_t* in);

// Header + payload as one string. The caller checks the payload size (see CheckPayloadSize).
std::string EncodeFrame(uint32_t stream_id, uint8_t type, std::string_view payload);

// OK when `size` fits in one frame; ResourceExhausted otherwise (ttrpc's message).
Status CheckPayloadSize(size_t size);

// A whole frame as parsed by FrameParser. `oversized` frames carry no payload: their bytes
// were skipped and the call they belong to must fail with ResourceExhausted.
struct Frame {
  FrameHeader header;
  std::string payload;
  bool oversized = false;
};

// Incremental parser: Feed() any chunk of the byte stream, then Next() returns whole frames in
// order. Oversized payloads are skipped without being buffered.
class FrameParser {
 public:
  void Feed(std::string_view bytes);
  std::optional<Frame> Next();
  // Bytes buffered for the frame in progress (0 between frames).
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
  std::optional<FrameHeader> header_;  // header of the frame in progress
  uint64_t skip_ = 0;                  // bytes of an oversized payload still to drop
  std::vector<Frame> ready_;
  size_t ready_pos_ = 0;
};

// google.rpc.Status <-> absl::Status. An absent status or code 0 is OK. Unknown codes map to
// Unknown.
Status StatusFromProto(const google::rpc::Status& s);
void StatusToProto(const Status& s, google::rpc::Status* out);

}  // namespace berth::ttrpc
