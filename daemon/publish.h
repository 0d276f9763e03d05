// Publishing a protobuf event on the daemon's exchange: the payload is encoded with its bare
// type name as containerd does, and `event.<field>` filters read the message by reflection.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "events/exchange.h"
#include "metadata/containers.h"

namespace berth::daemon {

void PublishEvent(events::Exchange& ex, const std::string& ns, const std::string& topic,
                  const google::protobuf::Message& event);

// /containers/update for `c`, as the Containers service publishes it.
void PublishContainerUpdate(events::Exchange& ex, const std::string& ns, const metadata::Container& c);

// A field lookup over an encoded message of a type known to this binary (for forwarded events).
std::function<std::optional<std::string>(const FieldPath&)> EventFieldLookup(const std::string& type_url,
                                                                             const std::string& payload);

}  // namespace berth::daemon
