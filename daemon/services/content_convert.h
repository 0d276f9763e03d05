// Conversions between content/ types and containerd.services.content.v1 messages, shared by the
// content service's unary handlers and its stream reactors.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

#include "containerd/services/content/v1/content.pb.h"
#include "content/store.h"

namespace berth::daemon {

// Nanoseconds since the epoch -> Timestamp.
inline void SetTimestamp(google::protobuf::Timestamp* ts, int64_t nanos) {
  int64_t s = nanos / 1000000000;
  int64_t n = nanos % 1000000000;
  if (n < 0) {
    n += 1000000000;
    --s;
  }
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(n));
}

inline void InfoToProto(const content::Info& in, containerd::services::content::v1::Info* out) {
  out->set_digest(in.digest.str());
  out->set_size(in.size);
  SetTimestamp(out->mutable_created_at(), in.created_at);
  SetTimestamp(out->mutable_updated_at(), in.updated_at);
  for (const auto& [k, v] : in.labels) (*out->mutable_labels())[k] = v;
}

inline void StatusToProto(const content::IngestStatus& in, containerd::services::content::v1::Status* out) {
  SetTimestamp(out->mutable_started_at(), in.started_at);
  SetTimestamp(out->mutable_updated_at(), in.updated_at);
  out->set_ref(in.ref);
  out->set_offset(in.offset);
  out->set_total(in.total);
  out->set_expected(in.expected);
}

}  // namespace berth::daemon
