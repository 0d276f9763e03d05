#include "daemon/publish.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include <memory>

namespace berth::daemon {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::optional<std::string> FieldOf(const Message& msg, const FieldPath& path, size_t i) {
  if (i >= path.size()) return std::nullopt;
  const auto* desc = msg.GetDescriptor();
  const FieldDescriptor* f = desc->FindFieldByName(path[i]);
  if (f == nullptr) f = desc->FindFieldByCamelcaseName(path[i]);
  if (f == nullptr) return std::nullopt;
  const auto* refl = msg.GetReflection();
  if (f->is_map()) {
    if (i + 1 >= path.size()) return std::nullopt;
    std::string key = path[i + 1];
    for (size_t j = i + 2; j < path.size(); ++j) key += "." + path[j];
    int n = refl->FieldSize(msg, f);
    for (int k = 0; k < n; ++k) {
      const Message& entry = refl->GetRepeatedMessage(msg, f, k);
      const auto* er = entry.GetReflection();
      const auto* kf = entry.GetDescriptor()->FindFieldByNumber(1);
      const auto* vf = entry.GetDescriptor()->FindFieldByNumber(2);
      if (er->GetString(entry, kf) == key && vf->cpp_type() == FieldDescriptor::CPPTYPE_STRING)
        return er->GetString(entry, vf);
    }
    return std::nullopt;
  }
  if (f->is_repeated()) return std::nullopt;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (i + 1 != path.size()) return std::nullopt;
      return refl->GetString(msg, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (!refl->HasField(msg, f)) return std::nullopt;
      return FieldOf(refl->GetMessage(msg, f), path, i + 1);
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(refl->GetUInt32(msg, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(refl->GetInt32(msg, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(refl->GetUInt64(msg, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(refl->GetInt64(msg, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return refl->GetBool(msg, f) ? "true" : "false";
    default:
      return std::nullopt;
  }
}

}  // namespace

std::function<std::optional<std::string>(const FieldPath&)> EventFieldLookup(const std::string& type_url,
                                                                             const std::string& payload) {
  std::string name = type_url.substr(type_url.find_last_of('/') + 1);
  const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (desc == nullptr) return nullptr;
  const Message* proto = google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc);
  std::shared_ptr<Message> msg(proto->New());
  if (!msg->ParseFromString(payload)) return nullptr;
  return [msg](const FieldPath& p) { return FieldOf(*msg, p, 0); };
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
