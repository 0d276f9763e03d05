// containerd.services.content.v1.Content over the namespaced content store (metadata/content.h).
//
// Unary calls run on the daemon's blocking pool. The streams (List, Read, Write) are reactors
// with one read and one write in flight at a time; every file or database step runs on the pool,
// never on a gRPC callback thread. Read sends at most 1 MiB per message and Write takes one
// message at a time, so memory stays flat whatever the blob size.
//
// Write follows containerd's protocol (CTR-API-MAP 2.3.1): the first message names the ref
// (InvalidArgument without); a blob already visible under the expected digest ends the stream
// with AlreadyExists on the first response; STAT reports the resume offset and running digest;
// WRITE carries data at the current offset (another non-zero offset is OutOfRange, offset 0 on a
// non-empty ingest truncates it) and is answered with the new absolute offset; COMMIT verifies
// size and digest and answers with the final ones. Requests carrying `containerd-lease` record
// their ingests and blobs in that lease. The stream holds the ref's writer, and so its lock,
// only while it is open: however it ends without a commit (half-close, cancel, disconnect, an
// error, a failed commit) the writer is released at once and the ingest stays for the next
// stream to resume; a second stream meanwhile ends with Unavailable ("ref ... locked ...").
#pragma once

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class ContentService final : public containerd::services::content::v1::Content::CallbackService {
 public:
  explicit ContentService(Daemon& d) : d_(d) {}

  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const containerd::services::content::v1::InfoRequest* req,
                                 containerd::services::content::v1::InfoResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::UpdateRequest* req,
                                   containerd::services::content::v1::UpdateResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::content::v1::ListContentResponse>* List(
      grpc::CallbackServerContext* ctx, const containerd::services::content::v1::ListContentRequest* req) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::DeleteContentRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerWriteReactor<containerd::services::content::v1::ReadContentResponse>* Read(
      grpc::CallbackServerContext* ctx, const containerd::services::content::v1::ReadContentRequest* req) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::StatusRequest* req,
                                   containerd::services::content::v1::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListStatuses(grpc::CallbackServerContext* ctx,
                                         const containerd::services::content::v1::ListStatusesRequest* req,
                                         containerd::services::content::v1::ListStatusesResponse* resp) override;
  grpc::ServerBidiReactor<containerd::services::content::v1::WriteContentRequest,
                          containerd::services::content::v1::WriteContentResponse>*
  Write(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* ctx,
                                  const containerd::services::content::v1::AbortRequest* req,
                                  google::protobuf::Empty* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
