#include "remotes/registry.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.h"
#include "common/log.h"

namespace berth::remotes {
namespace {

const char kAccept[] =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, */*;q=0.8";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Base64(const std::string& in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string UrlEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      char b[4];
      snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

bool Transient(long code) { return code == 408 || code == 429 || code >= 500; }

void SetTls(CURL* c, const RegistryOptions& o) {
  if (!o.ca_pem.empty()) {
    struct curl_blob blob;
    blob.data = const_cast<char*>(o.ca_pem.data());
    blob.len = o.ca_pem.size();
    blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!o.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  }
}

// A Location header made absolute against `base` ("scheme://host").
std::string AbsoluteUrl(const std::string& base, const std::string& loc) {
  if (loc.find("://") != std::string::npos) return loc;
  if (!loc.empty() && loc[0] == '/') return base + loc;
  return base + "/" + loc;
}

}  // namespace

std::vector<Challenge> ParseWwwAuthenticate(const std::string& h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  while (i < h.size()) {
    skip_ws();
    size_t start = i;
    while (i < h.size() && h[i] != ' ' && h[i] != ',') ++i;
    if (i == start) break;
    Challenge c;
    c.scheme = Lower(h.substr(start, i - start));
    // Parameters: name=value or name="quoted", comma separated, until a token without '='.
    for (;;) {
      skip_ws();
      size_t ns = i;
      while (i < h.size() && h[i] != '=' && h[i] != ' ' && h[i] != ',') ++i;
      if (i >= h.size() || h[i] != '=') {
        i = ns;  // a new scheme begins here
        break;
      }
      std::string name = Lower(h.substr(ns, i - ns));
      ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        if (i < h.size()) ++i;
      } else {
        size_t vs = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
        value = h.substr(vs, i - vs);
      }
      c.params[name] = value;
      if (i >= h.size()) break;
    }
    out.push_back(std::move(c));
  }
  return out;
}

struct Registry::Request {
  std::string method = "GET";  // GET, HEAD, POST or PUT
  std::string url;
  std::string actions = "pull";  // the token scope's actions ("pull" or "pull,push")
  std::string body;              // sent with POST/PUT when `upload` is null
  BlobSource* upload = nullptr;  // streamed as the PUT body, `upload_size` bytes
  int64_t upload_size = 0;
  std::function<void(int64_t)> upload_progress;
  std::vector<std::string> headers;
  // Called with body bytes of a successful (2xx) response; when empty the body is kept in
  // Response::body up to `max_body` bytes.
  std::function<Status(const char*, size_t)> on_body;
  // Called once with the status code of a 2xx response, before its first body byte.
  std::function<Status(long code)> on_start;
  int64_t max_body = 4 << 20;
};

struct Registry::Response {
  long code = 0;
  std::map<std::string, std::string> headers;  // lower-cased names, last value wins
  std::string www_authenticate;                // all challenges joined
  std::string body;
  Status body_error;
};

// Body bytes arrive only after all headers, so the status code is known by then.
struct Registry::BodyCtx {
  CURL* c;
  Request* req;
  Response* resp;
  bool started;
};

size_t Registry::WriteBody(char* buf, size_t sz, size_t n, void* ud) {
  auto* b = static_cast<BodyCtx*>(ud);
  size_t len = sz * n;
  if (!b->started) {
    b->started = true;
    curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &b->resp->code);
    if (b->resp->code >= 200 && b->resp->code < 300 && b->req->on_start) {
      Status st = b->req->on_start(b->resp->code);
      if (!st.ok()) {
        b->resp->body_error = st;
        return 0;
      }
    }
  }
  long code = b->resp->code;
  if (code >= 200 && code < 300 && b->req->on_body) {
    Status st = b->req->on_body(buf, len);
    if (!st.ok()) {
      b->resp->body_error = st;
      return 0;
    }
    return len;
  }
  if (static_cast<int64_t>(b->resp->body.size() + len) > b->req->max_body) {
    b->resp->body_error = absl::InvalidArgumentError("response body too large");
    return 0;
  }
  b->resp->body.append(buf, len);
  return len;
}

Registry::Registry(RegistryOptions opts) : opts_(std::move(opts)) { GlobalInit(); }

std::string Registry::SchemeFor(const std::string& host) const {
  if (opts_.plain_http) return "http";
  for (const auto& h : opts_.insecure_hosts) {
    if (h == host) return "http";
    if (host.rfind(h + ":", 0) == 0) return "http";
  }
  return "https";
}

std::string Registry::AuthHeader(const Reference& ref) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = auth_.find(ref.RegistryHost() + "/" + ref.repository);
  if (it != auth_.end()) return it->second;
  it = auth_.find(ref.RegistryHost());
  return it == auth_.end() ? "" : it->second;
}

StatusOr<Registry::Response> Registry::Do(const Reference& ref, Request& req) {
  Status last = absl::UnavailableError("no attempt made");
  bool authorized_once = false;
  for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt, 5)));
    Response resp;
    CURL* c = curl_easy_init();
    if (!c) return absl::InternalError("curl_easy_init failed");
    struct curl_slist* hdrs = nullptr;
    for (const auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
    std::string auth = AuthHeader(ref);
    if (!auth.empty()) hdrs = curl_slist_append(hdrs, auth.c_str());
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, opts_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    SetTls(c, opts_);
    if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    struct UploadCtx {
      Request* req;
      int64_t sent = 0;
      Status err;
    } up{&req};
    if (req.upload != nullptr) {
      if (Status st = req.upload->Open(); !st.ok()) {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return st;
      }
      hdrs = curl_slist_append(hdrs, "Expect:");
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.upload_size));
      auto read_cb = +[](char* buf, size_t sz, size_t n, void* ud) -> size_t {
        auto* u = static_cast<UploadCtx*>(ud);
        auto got = u->req->upload->Read(buf, sz * n);
        if (!got.ok()) {
          u->err = got.status();
          return CURL_READFUNC_ABORT;
        }
        u->sent += static_cast<int64_t>(*got);
        if (u->req->upload_progress) u->req->upload_progress(u->sent);
        return *got;
      };
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (req.method == "POST" || req.method == "PUT") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    auto header_cb = +[](char* buf, size_t sz, size_t n, void* ud) -> size_t {
      auto* r = static_cast<Response*>(ud);
      std::string line(buf, sz * n);
      if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): start over
        r->headers.clear();
        r->www_authenticate.clear();
        return sz * n;
      }
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = Lower(Trim(line.substr(0, colon))), value = Trim(line.substr(colon + 1));
        r->headers[name] = value;
        if (name == "www-authenticate") {
          r->www_authenticate += (r->www_authenticate.empty() ? "" : ", ") + value;
        }
      }
      return sz * n;
    };
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    BodyCtx bctx{c, &req, &resp, false};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bctx);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (!resp.body_error.ok()) return resp.body_error;
    if (!up.err.ok()) return up.err;
    if (req.upload != nullptr && rc == CURLE_OK && up.sent != req.upload_size && resp.code < 300) {
      return absl::DataLossError(StrCat(req.url, ": sent ", up.sent, " of ", req.upload_size, " bytes"));
    }
    if (rc != CURLE_OK) {
      last = absl::UnavailableError(StrCat(req.method, " ", req.url, ": ", curl_easy_strerror(rc)));
      // Bytes already streamed out cannot be taken back: let the caller resume.
      if (bctx.started && req.on_body) return last;
      BLOG(Debug) << "registry: " << last.message() << " (attempt " << attempt + 1 << ")";
      continue;
    }
    if (resp.code == 401 && !authorized_once && !resp.www_authenticate.empty()) {
      authorized_once = true;
      RETURN_IF_ERROR(Authorize(ref, resp.www_authenticate, req.actions));
      --attempt;  // the authorized retry does not count as a failure
      continue;
    }
    if (Transient(resp.code)) {
      last = absl::UnavailableError(StrCat(req.method, " ", req.url, ": HTTP ", resp.code));
      continue;
    }
    return resp;
  }
  return last;
}

Status Registry::Authorize(const Reference& ref, const std::string& www_authenticate, const std::string& actions) {
  std::string host = ref.RegistryHost();
  for (const auto& ch : ParseWwwAuthenticate(www_authenticate)) {
    if (ch.scheme == "basic") {
      if (opts_.username.empty() && opts_.password.empty()) {
        return absl::UnauthenticatedError(StrCat(host, ": basic auth required and no credentials given"));
      }
      std::lock_guard<std::mutex> l(mu_);
      auth_[host] = "Authorization: Basic " + Base64(opts_.username + ":" + opts_.password);
      return Status();
    }
    if (ch.scheme != "bearer") continue;
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end() || realm->second.empty()) {
      return absl::InvalidArgumentError(StrCat(host, ": bearer challenge without realm"));
    }
    std::string url = realm->second;
    std::string sep = url.find('?') == std::string::npos ? "?" : "&";
    if (auto s = ch.params.find("service"); s != ch.params.end()) {
      url += sep + "service=" + UrlEscape(s->second);
      sep = "&";
    }
    std::string scope = ref.repository.empty() ? "" : "repository:" + ref.repository + ":" + actions;
    if (auto s = ch.params.find("scope"); s != ch.params.end() && !s->second.empty()) scope = s->second;
    if (!scope.empty()) url += sep + "scope=" + UrlEscape(scope);

    std::string body;
    CURL* c = curl_easy_init();
    if (!c) return absl::InternalError("curl_easy_init failed");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, opts_.user_agent.c_str());
    SetTls(c, opts_);
    std::string userpwd = opts_.username + ":" + opts_.password;
    if (!opts_.username.empty() || !opts_.password.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
    }
    auto cb = +[](char* buf, size_t sz, size_t n, void* ud) -> size_t {
      auto* b = static_cast<std::string*>(ud);
      if (b->size() > (1 << 20)) return 0;
      b->append(buf, sz * n);
      return sz * n;
    };
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) return absl::UnavailableError(StrCat("fetch token from ", realm->second, ": ", curl_easy_strerror(rc)));
    if (code == 401) return absl::UnauthenticatedError(StrCat("fetch token from ", realm->second, ": unauthorized"));
    if (code == 403) return absl::PermissionDeniedError(StrCat("fetch token from ", realm->second, ": forbidden"));
    if (code != 200) return absl::UnavailableError(StrCat("fetch token from ", realm->second, ": HTTP ", code));
    std::string token;
    try {
      auto j = nlohmann::json::parse(body);
      if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
      if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) {
        token = j["access_token"].get<std::string>();
      }
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(StrCat("token response: ", e.what()));
    }
    if (token.empty()) return absl::InvalidArgumentError("token response has no token");
    std::lock_guard<std::mutex> l(mu_);
    auth_[ref.repository.empty() ? host : host + "/" + ref.repository] = "Authorization: Bearer " + token;
    return Status();
  }
  return absl::UnauthenticatedError(StrCat(host, ": unsupported authentication challenge: ", www_authenticate));
}

namespace {
Status CodeError(long code, const std::string& what) {
  if (code == 404) return absl::NotFoundError(StrCat(what, ": not found"));
  if (code == 401) return absl::UnauthenticatedError(StrCat(what, ": unauthorized"));
  if (code == 403) return absl::PermissionDeniedError(StrCat(what, ": forbidden"));
  if (code >= 500 || code == 429) return absl::UnavailableError(StrCat(what, ": HTTP ", code));
  return absl::InvalidArgumentError(StrCat(what, ": unexpected HTTP status ", code));
}
}  // namespace

StatusOr<images::Descriptor> Registry::Resolve(const Reference& ref) {
  std::string base = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/", ref.repository,
                            "/manifests/", ref.Object());
  std::string what = StrCat(ref.String());
  Request head;
  head.method = "HEAD";
  head.url = base;
  head.headers = {kAccept};
  ASSIGN_OR_RETURN(Response r, Do(ref, head));
  images::Descriptor d;
  if (r.code == 200) {
    d.media_type = r.headers["content-type"];
    d.digest = r.headers["docker-content-digest"];
    auto len = r.headers.find("content-length");
    if (len != r.headers.end()) d.size = std::atoll(len->second.c_str());
    if (!ref.digest.empty()) d.digest = ref.digest;
    if (!d.digest.empty() && d.size > 0 && (images::IsManifestType(d.media_type) || images::IsIndexType(d.media_type))) {
      return d;
    }
  } else if (r.code != 405 && r.code != 400) {
    return CodeError(r.code, what);
  }
  // GET the manifest to learn what HEAD did not say.
  Request get;
  get.url = base;
  get.headers = {kAccept};
  get.max_body = opts_.max_manifest_bytes;
  std::string body;
  get.on_body = [&](const char* p, size_t n) -> Status {
    if (static_cast<int64_t>(body.size() + n) > opts_.max_manifest_bytes) return absl::InvalidArgumentError("manifest too large");
    body.append(p, n);
    return Status();
  };
  ASSIGN_OR_RETURN(r, Do(ref, get));
  if (r.code != 200) return CodeError(r.code, what);
  std::string computed = Sha256::Of(body).str();
  d.digest = ref.digest.empty() ? computed : ref.digest;
  if (d.digest != computed) return absl::DataLossError(StrCat(what, ": manifest digest mismatch: got ", computed));
  d.size = static_cast<int64_t>(body.size());
  d.media_type = r.headers["content-type"];
  if (!images::IsManifestType(d.media_type) && !images::IsIndexType(d.media_type)) {
    ASSIGN_OR_RETURN(d.media_type, images::DetectMediaType(body));
  }
  return d;
}

StatusOr<std::string> Registry::FetchManifest(const Reference& ref, const images::Descriptor& desc) {
  if (desc.size > opts_.max_manifest_bytes) return absl::InvalidArgumentError(StrCat("manifest ", desc.digest, " too large"));
  Request get;
  get.url = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/", ref.repository,
                   "/manifests/", desc.digest);
  get.headers = {kAccept};
  std::string body;
  get.on_body = [&](const char* p, size_t n) -> Status {
    if (static_cast<int64_t>(body.size() + n) > opts_.max_manifest_bytes) return absl::InvalidArgumentError("manifest too large");
    body.append(p, n);
    return Status();
  };
  ASSIGN_OR_RETURN(Response r, Do(ref, get));
  if (r.code != 200) return CodeError(r.code, StrCat("manifest ", desc.digest));
  std::string computed = Sha256::Of(body).str();
  if (computed != desc.digest) {
    return absl::DataLossError(StrCat("manifest ", desc.digest, ": digest mismatch (got ", computed, ")"));
  }
  if (desc.size > 0 && static_cast<int64_t>(body.size()) != desc.size) {
    return absl::DataLossError(StrCat("manifest ", desc.digest, ": size ", body.size(), ", expected ", desc.size));
  }
  return body;
}

Status Registry::FetchBlob(const Reference& ref, const images::Descriptor& desc, BlobSink& sink,
                           const std::function<void(int64_t)>& progress) {
  std::string url = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/", ref.repository,
                           "/blobs/", desc.digest);
  Status last = absl::UnavailableError(StrCat("blob ", desc.digest, ": no attempt made"));
  for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << std::min(attempt, 5)));
    int64_t offset = sink.Offset();
    if (desc.size > 0 && offset > desc.size) {
      RETURN_IF_ERROR(sink.Reset());
      offset = 0;
    }
    if (desc.size > 0 && offset == desc.size) return Status();
    Request get;
    get.url = url;
    if (offset > 0) get.headers.push_back(StrCat("Range: bytes=", offset, "-"));
    bool verify = offset == 0;
    Sha256 hash;
    int64_t written = offset;
    get.on_start = [&](long code) -> Status {
      if (code == 200 && offset > 0) {  // the server ignored the range: start from zero
        RETURN_IF_ERROR(sink.Reset());
        written = 0;
        verify = true;
      }
      return Status();
    };
    get.on_body = [&](const char* p, size_t n) -> Status {
      if (desc.size > 0 && written + static_cast<int64_t>(n) > desc.size) {
        return absl::DataLossError(StrCat("blob ", desc.digest, ": more data than its size ", desc.size));
      }
      RETURN_IF_ERROR(sink.Write(p, n));
      if (verify) hash.Update(p, n);
      written += n;
      if (progress) progress(written);
      return Status();
    };
    auto r = Do(ref, get);
    if (!r.ok()) {
      last = r.status();
      if (absl::IsUnavailable(last)) continue;  // resume from what the sink holds
      if (absl::IsDataLoss(last)) RETURN_IF_ERROR(sink.Reset());
      return last;
    }
    if (r->code == 416) {  // range not satisfiable: start over
      RETURN_IF_ERROR(sink.Reset());
      last = absl::UnavailableError(StrCat("blob ", desc.digest, ": range not satisfiable"));
      continue;
    }
    if (r->code != 200 && r->code != 206) return CodeError(r->code, StrCat("blob ", desc.digest));
    if (desc.size > 0 && written != desc.size) {
      last = absl::UnavailableError(StrCat("blob ", desc.digest, ": short read ", written, " of ", desc.size));
      continue;
    }
    if (verify && hash.Current().str() != desc.digest) {
      RETURN_IF_ERROR(sink.Reset());
      return absl::DataLossError(StrCat("blob ", desc.digest, ": digest mismatch (got ", hash.Current().str(), ")"));
    }
    return Status();
  }
  return last;
}

}  // namespace berth::remotes

namespace berth::remotes {

Status Registry::Ping(const std::string& host) {
  Reference ref;
  ref.domain = host;
  Request get;
  get.url = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/");
  ASSIGN_OR_RETURN(Response r, Do(ref, get));
  if (r.code == 200) return Status();
  if (r.code == 401) return absl::UnauthenticatedError(StrCat(host, ": unauthorized: incorrect username or password"));
  return CodeError(r.code, StrCat("GET ", get.url));
}

StatusOr<bool> Registry::BlobExists(const Reference& ref, const std::string& digest) {
  Request head;
  head.method = "HEAD";
  head.actions = "pull,push";
  head.url = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/", ref.repository, "/blobs/", digest);
  ASSIGN_OR_RETURN(Response r, Do(ref, head));
  if (r.code == 200) return true;
  if (r.code == 404) return false;
  return CodeError(r.code, StrCat("blob ", digest));
}

Status Registry::PushBlob(const Reference& ref, const images::Descriptor& desc, BlobSource& src,
                          const std::function<void(int64_t)>& progress) {
  std::string base = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost());
  Request post;
  post.method = "POST";
  post.actions = "pull,push";
  post.url = StrCat(base, "/v2/", ref.repository, "/blobs/uploads/");
  ASSIGN_OR_RETURN(Response r, Do(ref, post));
  if (r.code != 202) return CodeError(r.code, StrCat("start upload of ", desc.digest));
  auto loc = r.headers.find("location");
  if (loc == r.headers.end() || loc->second.empty()) {
    return absl::InvalidArgumentError(StrCat("start upload of ", desc.digest, ": no Location in the answer"));
  }
  Request put;
  put.method = "PUT";
  put.actions = "pull,push";
  put.url = AbsoluteUrl(base, loc->second);
  put.url += (put.url.find('?') == std::string::npos ? "?" : "&") + StrCat("digest=", UrlEscape(desc.digest));
  put.headers = {"Content-Type: application/octet-stream"};
  put.upload = &src;
  put.upload_size = desc.size;
  put.upload_progress = progress;
  ASSIGN_OR_RETURN(r, Do(ref, put));
  if (r.code != 201 && r.code != 204) {
    if (r.code == 400) return absl::DataLossError(StrCat("upload of ", desc.digest, " refused: ", r.body));
    return CodeError(r.code, StrCat("upload of ", desc.digest));
  }
  return Status();
}

Status Registry::PushManifest(const Reference& ref, const std::string& object, const std::string& media_type,
                              const std::string& body) {
  Request put;
  put.method = "PUT";
  put.actions = "pull,push";
  put.url = StrCat(SchemeFor(ref.RegistryHost()), "://", ref.RegistryHost(), "/v2/", ref.repository, "/manifests/", object);
  put.headers = {"Content-Type: " + media_type};
  put.body = body;
  ASSIGN_OR_RETURN(Response r, Do(ref, put));
  if (r.code != 201 && r.code != 200 && r.code != 204) {
    if (r.code == 400) return absl::InvalidArgumentError(StrCat("manifest ", object, " refused: ", r.body));
    return CodeError(r.code, StrCat("manifest ", object));
  }
  return Status();
}

}  // namespace berth::remotes
