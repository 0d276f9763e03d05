// The one list of gRPC services berthd serves.
#include "daemon/server.h"
#include "daemon/services/basic.h"
#include "daemon/services/containers.h"
#include "daemon/services/events.h"
#include "daemon/services/tasks.h"
#include "daemon/services/images.h"
#include "daemon/services/leases.h"
#include "daemon/services/pull.h"
#include "daemon/services/content.h"
#include "daemon/services/diff.h"
#include "daemon/services/snapshots.h"
#include "daemon/services/cri.h"

namespace berth::daemon {

std::vector<std::unique_ptr<grpc::Service>> MakeServices(Daemon& d) {
  std::vector<std::unique_ptr<grpc::Service>> s;
  s.push_back(std::make_unique<VersionService>());
  s.push_back(std::make_unique<IntrospectionService>(d));
  s.push_back(std::make_unique<NamespacesService>(d));
  s.push_back(std::make_unique<ContainersService>(d));
  s.push_back(std::make_unique<EventsService>(d));
  s.push_back(std::make_unique<TasksService>(d));
  s.push_back(std::make_unique<ImagesService>(d));
  s.push_back(std::make_unique<LeasesService>(d));
  s.push_back(std::make_unique<PullService>(d));
  s.push_back(std::make_unique<ContentService>(d));
  s.push_back(std::make_unique<SnapshotsService>(d));
  s.push_back(std::make_unique<DiffService>(d));
  // The Kubernetes CRI, on the same socket as containerd's.
  auto cri = std::make_shared<CriCore>(d);
  s.push_back(std::make_unique<CriRuntimeService>(cri));
  s.push_back(std::make_unique<CriImageService>(cri));
  return s;
}

}  // namespace berth::daemon
