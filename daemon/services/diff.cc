#include "daemon/services/diff.h"

#include "daemon/call.h"
#include "diff/apply.h"

namespace berth::daemon {

namespace dv1 = containerd::services::diff::v1;

grpc::ServerUnaryReactor* DiffService::Apply(grpc::CallbackServerContext* ctx, const dv1::ApplyRequest* req,
                                             dv1::ApplyResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    const auto& desc = req->diff();
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(desc.digest()));
    std::vector<snapshotter::Mount> mounts;
    for (const auto& m : req->mounts()) {
      mounts.push_back(snapshotter::Mount{m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
    }
    if (!d_.open_blob) return absl::UnimplementedError("diff: no content store wired");
    ASSIGN_OR_RETURN(auto blob, d_.open_blob(ns, digest));
    auto verified = diff::VerifyingReader(std::move(blob), digest, desc.size() > 0 ? desc.size() : -1);
    ASSIGN_OR_RETURN(Slots::Hold slot, d_.unpack_slots->Acquire([ctx] { return ctx->IsCancelled(); }, "unpack"));
    diff::ApplyOptions opts;
    opts.max_size = d_.config.max_layer_size;
    opts.max_entries = d_.config.max_layer_entries;
    opts.max_ratio = d_.config.max_layer_ratio;
    opts.ratio_floor = d_.config.max_layer_ratio_floor;
    opts.temp_dir = d_.diff_temp_dir;
    ASSIGN_OR_RETURN(diff::ApplyResult r, diff::Apply(desc.media_type(), *verified, mounts, opts));
    auto* applied = resp->mutable_applied();
    applied->set_media_type(diff::kLayerMediaType);
    applied->set_digest(r.diff_id.str());
    applied->set_size(r.size);
    return Status();
  });
}

grpc::ServerUnaryReactor* DiffService::Diff(grpc::CallbackServerContext* ctx, const dv1::DiffRequest*,
                                            dv1::DiffResponse*) {
  return FinishNow(ctx, absl::UnimplementedError("diff: computing a layer from mounts is not implemented"));
}

}  // namespace berth::daemon
