// Conversions between content/ types and containerd.services.content.v1 messages, shared by the
// content service's unary handlers and its stream reactors.
#pragma once

#include "daemon/services/proto_time.h"

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

#include "containerd/services/content/v1/content.pb.h"
#include "content/store.h"

namespace berth::daemon {

inline void InfoToProto(const content::Info& in, containerd::services::content::v1::Info* out) {
  out->set_digest(in.digest.str());
  out->set_size(in.size);
  ToTimestamp(in.created_at, out->mutable_created_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
  for (const auto& [k, v] : in.labels) (*out->mutable_labels())[k] = v;
}

inline void StatusToProto(const content::IngestStatus& in, containerd::services::content::v1::Status* out) {
  ToTimestamp(in.started_at, out->mutable_started_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
  out->set_ref(in.ref);
  out->set_offset(in.offset);
  out->set_total(in.total);
  out->set_expected(in.expected);
}

}  // namespace berth::daemon
