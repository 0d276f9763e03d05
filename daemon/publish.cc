#include "daemon/publish.h"

#include "containerd/events/container.pb.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include <memory>

namespace berth::daemon {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::optional<std::string> FieldOf(const Message& msg, const FieldPath& path, size_t i);

// The message types containerd generates Field methods for (the only ones `event.*` reaches).
bool HasFields(const std::string& name) {
  return name.rfind("containerd.events.", 0) == 0 || name.rfind("containerd.services.events.", 0) == 0 ||
         name == "containerd.services.images.v1.ImageCreate" || name == "containerd.services.images.v1.ImageUpdate" ||
         name == "containerd.services.images.v1.ImageDelete";
}

// An Any is looked into only when it holds an event (the types containerd generates Field for).
std::optional<std::string> AnyFieldOf(const Message& any, const FieldPath& path, size_t i) {
  const auto* refl = any.GetReflection();
  const auto* desc = any.GetDescriptor();
  std::string type_url = refl->GetString(any, desc->FindFieldByName("type_url"));
  std::string name = type_url.substr(type_url.find_last_of('/') + 1);
  if (!HasFields(name)) return std::nullopt;
  const auto* target = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (target == nullptr) return std::nullopt;
  std::unique_ptr<Message> decoded(google::protobuf::MessageFactory::generated_factory()->GetPrototype(target)->New());
  if (!decoded->ParseFromString(refl->GetString(any, desc->FindFieldByName("value")))) return std::nullopt;
  return FieldOf(*decoded, path, i);
}

// The value at path[i:] the way containerd's generated Field methods (protobuf/plugin/fieldpath)
// expose it: strings (present when non-empty), bools ("true"/"false"), a string map named
// "labels" (the rest of the path joined with "."), set sub-messages other than Timestamp, and
// Anys holding events. Numbers, enums, bytes, repeated fields and timestamps are absent.
std::optional<std::string> FieldOf(const Message& msg, const FieldPath& path, size_t i) {
  if (i >= path.size()) return std::nullopt;
  const FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(path[i]);
  if (f == nullptr) return std::nullopt;
  const auto* refl = msg.GetReflection();
  if (f->is_map()) {
    if (f->name() != "labels") return std::nullopt;
    int n = refl->FieldSize(msg, f);
    if (n == 0) return std::nullopt;
    std::string key;
    for (size_t j = i + 1; j < path.size(); ++j) key += (j > i + 1 ? "." : "") + path[j];
    for (int k = 0; k < n; ++k) {
      const Message& entry = refl->GetRepeatedMessage(msg, f, k);
      const auto* er = entry.GetReflection();
      const auto* kf = entry.GetDescriptor()->FindFieldByNumber(1);
      const auto* vf = entry.GetDescriptor()->FindFieldByNumber(2);
      if (vf->type() == FieldDescriptor::TYPE_STRING && er->GetString(entry, kf) == key) return er->GetString(entry, vf);
    }
    return std::nullopt;
  }
  if (f->is_repeated()) return std::nullopt;
  switch (f->type()) {
    case FieldDescriptor::TYPE_STRING: {
      std::string v = refl->GetString(msg, f);
      if (v.empty()) return std::nullopt;
      return v;
    }
    case FieldDescriptor::TYPE_BOOL:
      return refl->GetBool(msg, f) ? "true" : "false";
    case FieldDescriptor::TYPE_MESSAGE: {
      const std::string& type = f->message_type()->full_name();
      if (type == "google.protobuf.Timestamp" || !refl->HasField(msg, f)) return std::nullopt;
      if (type == "google.protobuf.Any") return AnyFieldOf(refl->GetMessage(msg, f), path, i + 1);
      return FieldOf(refl->GetMessage(msg, f), path, i + 1);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::function<std::optional<std::string>(const FieldPath&)> EventFieldLookup(const std::string& type_url,
                                                                             const std::string& payload) {
  std::string name = type_url.substr(type_url.find_last_of('/') + 1);
  if (!HasFields(name)) return nullptr;
  const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (desc == nullptr) return nullptr;
  const Message* proto = google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc);
  std::shared_ptr<Message> msg(proto->New());
  if (!msg->ParseFromString(payload)) return nullptr;
  return [msg](const FieldPath& p) { return FieldOf(*msg, p, 0); };
}

void PublishContainerUpdate(events::Exchange& ex, const std::string& ns, const metadata::Container& c) {
  containerd::events::ContainerUpdate ev;
  ev.set_id(c.id);
  ev.set_image(c.image);
  for (const auto& [k, v] : c.labels) (*ev.mutable_labels())[k] = v;
  ev.set_snapshot_key(c.snapshot_key);
  PublishEvent(ex, ns, "/containers/update", ev);
}

void PublishEvent(events::Exchange& ex, const std::string& ns, const std::string& topic, const Message& event) {
  events::Envelope env;
  env.ns = ns;
  env.topic = topic;
  env.type_url = event.GetDescriptor()->full_name();
  env.payload = event.SerializeAsString();
  std::shared_ptr<Message> copy(event.New());
  copy->CopyFrom(event);
  env.event_field = [copy](const FieldPath& p) { return FieldOf(*copy, p, 0); };
  ex.Publish(std::move(env));
}

}  // namespace berth::daemon
