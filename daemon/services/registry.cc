// The one list of gRPC services berthd serves.
#include "daemon/server.h"
#include "daemon/services/basic.h"
#include "daemon/services/images.h"
#include "daemon/services/leases.h"
#include "daemon/services/content.h"

namespace berth::daemon {

std::vector<std::unique_ptr<grpc::Service>> MakeServices(Daemon& d) {
  std::vector<std::unique_ptr<grpc::Service>> s;
  s.push_back(std::make_unique<VersionService>());
  s.push_back(std::make_unique<IntrospectionService>(d));
  s.push_back(std::make_unique<NamespacesService>(d));
  s.push_back(std::make_unique<ImagesService>(d));
  s.push_back(std::make_unique<LeasesService>(d));
  s.push_back(std::make_unique<ContentService>(d));
  return s;
}

}  // namespace berth::daemon
