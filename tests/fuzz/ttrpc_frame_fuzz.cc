// libFuzzer target: arbitrary bytes as a ttrpc byte stream. Splits the input at a fuzzer-chosen
// point to exercise reassembly, then decodes every frame as a Request or Response and converts
// statuses. Must never crash, hang or buffer an oversized payload.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ttrpc/frame.h"
#include "ttrpc/ttrpc.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t split = size > 1 ? data[0] % (size) : 0;
  if (split > in.size()) split = in.size();
  berth::ttrpc::FrameParser parser;
  parser.Feed(in.substr(0, split));
  parser.Feed(in.substr(split));
  while (auto f = parser.Next()) {
    if (f->oversized || f->payload.size() > berth::ttrpc::kMaxPayload) continue;
    if (f->header.type == berth::ttrpc::kRequest) {
      ::ttrpc::Request req;
      (void)req.ParseFromString(f->payload);
    } else {
      ::ttrpc::Response resp;
      if (resp.ParseFromString(f->payload)) (void)berth::ttrpc::StatusFromProto(resp.status());
    }
  }
  return 0;
}
