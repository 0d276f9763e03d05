// A client for the OCI distribution API (Docker Registry HTTP API v2) on libcurl.
//
//  - Resolve: HEAD (then GET if HEAD gives no digest) /v2/<repo>/manifests/<tag|digest> with an
//    Accept of the OCI and Docker manifest and index types -> the root descriptor.
//  - FetchManifest: GET a manifest/index by digest, verify its digest and size.
//  - FetchBlob: GET /v2/<repo>/blobs/<digest> streamed into a BlobSink (never whole in memory),
//    resuming with Range from what the sink already holds, retrying transient failures
//    (connection errors, 429, 5xx) with backoff, checking the size and, when the sink started
//    empty, the digest.
// Auth: a 401 carrying `WWW-Authenticate: Bearer realm=..,service=..,scope=..` makes the client
// fetch a token from the realm (with basic credentials when configured) and retry; tokens are
// cached per host and scope. `Basic` challenges are answered with the configured credentials.
// Transport: https by default; http when plain_http is set or the host is listed in
// insecure_hosts (or is on localhost/127.0.0.1 and plain_http is set, as ctr). A custom CA file
// may be given. Redirects are followed (credentials are not forwarded to other hosts).
//
// Errors: NotFound (404 on manifest or blob), Unauthenticated (401 after auth),
// PermissionDenied (403), Unavailable (network errors, 5xx after retries), DataLoss (digest or
// size mismatch), InvalidArgument (bad response).
//
// Thread-safety: a Registry may be used from several threads at once (each request has its
// own curl handle; the token cache is locked).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "images/manifest.h"
#include "remotes/reference.h"

namespace berth::remotes {

struct RegistryOptions {
  bool plain_http = false;
  std::vector<std::string> insecure_hosts;  // "host" or "host:port" reached over http
  std::string username;
  std::string password;
  std::string ca_file;        // PEM bundle for TLS, "" = system default
  std::string ca_pem;         // PEM bundle given in memory (wins over ca_file), "" = none
  int max_attempts = 4;       // per request, for transient failures
  int64_t max_manifest_bytes = 4 << 20;
  std::string user_agent = "berth/0.1";
};

// Where a blob's bytes go. Offset() is where the fetch resumes; Reset() discards what the sink
// holds (the server ignored a Range request).
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual int64_t Offset() = 0;
  virtual Status Write(const char* data, size_t n) = 0;
  virtual Status Reset() = 0;
};

// Where a pushed blob's bytes come from. Open() (re)starts at offset 0 (it is called again when
// an upload must be retried); Read() fills up to n bytes and returns how many (0 = end).
class BlobSource {
 public:
  virtual ~BlobSource() = default;
  virtual Status Open() = 0;
  virtual StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Parsed `WWW-Authenticate` challenge (scheme lower-cased, parameter names lower-cased).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::vector<Challenge> ParseWwwAuthenticate(const std::string& header);

class Registry {
 public:
  explicit Registry(RegistryOptions opts);

  // The root descriptor `ref` names (its media type, digest and size).
  StatusOr<images::Descriptor> Resolve(const Reference& ref);
  // The bytes of manifest/index `desc`, verified.
  StatusOr<std::string> FetchManifest(const Reference& ref, const images::Descriptor& desc);
  // Streams blob `desc` into `sink`; `progress` (may be empty) gets the sink's total so far.
  Status FetchBlob(const Reference& ref, const images::Descriptor& desc, BlobSink& sink,
                   const std::function<void(int64_t)>& progress = {});

  // Login check: GET /v2/ on `host` answering its auth challenge with the configured
  // credentials (a bearer challenge gets a token without scope, as docker login asks).
  // OK when the registry accepts them; Unauthenticated when it refuses them.
  Status Ping(const std::string& host);

  // Push (the distribution API's upload flow):
  // Whether blob `digest` is in `ref`'s repository (HEAD /v2/<repo>/blobs/<digest>).
  StatusOr<bool> BlobExists(const Reference& ref, const std::string& digest);
  // A monolithic upload: POST /v2/<repo>/blobs/uploads/, then PUT <location>?digest=<digest>
  // with the whole body from `src` (desc.size bytes). `progress` gets the bytes sent so far.
  // DataLoss when `src` ends short of desc.size.
  Status PushBlob(const Reference& ref, const images::Descriptor& desc, BlobSource& src,
                  const std::function<void(int64_t)>& progress = {});
  // PUT /v2/<repo>/manifests/<object> (a tag or digest) with `body` as `media_type`.
  Status PushManifest(const Reference& ref, const std::string& object, const std::string& media_type,
                      const std::string& body);

  // "http" or "https" for `host`.
  std::string SchemeFor(const std::string& host) const;

 private:
  struct Response;
  struct Request;
  struct BodyCtx;
  static size_t WriteBody(char* buf, size_t sz, size_t n, void* ud);
  // One HTTP exchange with auth retry; `body_sink` receives 2xx bodies when set.
  StatusOr<Response> Do(const Reference& ref, Request& req);
  Status Authorize(const Reference& ref, const std::string& www_authenticate, const std::string& actions);
  std::string AuthHeader(const Reference& ref);

  RegistryOptions opts_;
  std::mutex mu_;
  std::map<std::string, std::string> auth_;  // host -> "Authorization: ..." header line
};

}  // namespace berth::remotes
