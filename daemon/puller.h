// Puller: berthd's own image pull (berth.services.images.v1.Images/Pull), the work ctr does
// client-side done inside the daemon: resolve the reference with remotes::Registry, fetch the
// root manifest/index, the platform's manifest, its config and its layers (max_concurrent_downloads
// at once) into the namespaced content store under a lease, with the same labels ctr sets (children
// containerd.io/gc.ref.content.*, containerd.io/distribution.source.<host>), create or update the
// image record, and unpack it with images::Unpack, a layer being applied as soon as it and the
// layers below it are downloaded.
//
// Thread-safety: one Puller per pull; Run() blocks the calling thread (a pool thread) and calls
// the progress callback from download threads (it must be thread-safe and not block long).
// Bounds: a pull first waits for one of d.pull_slots (max_concurrent_pulls), each layer applied
// for one of d.unpack_slots (max_concurrent_unpacks).
#pragma once

#include <functional>
#include <string>

#include "daemon/daemon.h"
#include "images/manifest.h"
#include "metadata/images.h"

namespace berth::daemon {

struct PullRequest {
  std::string ns;
  std::string ref;
  bool plain_http = false;
  std::string platform;  // "" = default
  bool unpack = true;
  std::string snapshotter;  // "" = namespace default or overlayfs
  std::map<std::string, std::string> labels;
  std::vector<std::string> insecure_hosts;
  std::string username, password;
  std::string ca_pem;  // PEM CA bundle for the registry's TLS; "" = system default
};

struct PullEvents {
  std::function<void(const std::string& name, const std::string& digest,
                     const std::vector<images::Descriptor>& layers)> resolved;
  std::function<void(const std::string& digest, const std::string& status, int64_t offset, int64_t total)> layer;
};

struct PullResult {
  metadata::Image image;
  std::string chain_id;
};

// Codes: InvalidArgument (bad reference/platform), NotFound (unknown image or platform),
// Unauthenticated/PermissionDenied, Unavailable (network), DataLoss (digest mismatch), and
// whatever unpacking returns. `cancelled` is polled between steps.
StatusOr<PullResult> RunPull(Daemon& d, const PullRequest& req, const PullEvents& events,
                             const std::function<bool()>& cancelled);

// Unpacks the image whose platform manifest `manifest` is already in namespace `ns`'s content
// store onto `snapshotter` as a pull does, in lease `lease`; returns the top chain id.
StatusOr<std::string> UnpackStored(Daemon& d, const std::string& ns, const std::string& lease,
                                   const std::string& snapshotter, const images::Descriptor& manifest);

// A lease that expires in an hour and is deleted (then GC scheduled) when the holder goes.
struct TempLease {
  TempLease(Daemon& d, std::string ns) : d(d), ns(std::move(ns)) {}
  ~TempLease();
  Status Create();
  Daemon& d;
  std::string ns, id;
};

}  // namespace berth::daemon
