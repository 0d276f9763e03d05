// berth-test-flood: holds many concurrent idle calls open on berthd (or containerd) for the limits
// test (issue 15): SUBS Events.Subscribe streams and WAITS Tasks.Wait calls on task ID of
// namespace NS, spread over CHANNELS connections.
//
//   berth-test-flood SOCK NS SUBS WAITS ID [CHANNELS]
//
// Protocol on stdin/stdout (a bash coprocess drives it):
//   1. starts every call, prints "ready started=<n>" once all have started;
//   2. on a line "check" (or EOF) waits up to 60 s for every stream to deliver one envelope (the
//      driver publishes an event meanwhile) and checks that no Wait has completed (the task runs),
//      prints "checked events=<streams that got one> waits_pending=<n>";
//   3. cancels every call, drains them, prints "done cancelled=<n>" and exits 0 when every stream
//      got its event and every Wait was still pending, 1 otherwise (2 on a usage error).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"

namespace evv1 = containerd::services::events::v1;
namespace tkv1 = containerd::services::tasks::v1;

namespace {

// Tags: one Call per RPC; the low bit of the tag pointer tells the step.
struct Call {
  bool is_sub = false;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientAsyncReader<evv1::Envelope>> reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<tkv1::WaitResponse>> wait;
  evv1::Envelope env;
  tkv1::WaitResponse resp;
  grpc::Status status;
  bool started = false, got_event = false, finished = false;
};

enum Step : uintptr_t { kStart = 0, kRead = 1, kFinish = 2 };
void* Tag(Call* c, Step s) { return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(c) | s); }

struct Counts {
  int started = 0, events = 0, finished = 0;
};

// Handles one completion; returns false when the queue is shut down or the deadline passed.
bool Pump(grpc::CompletionQueue& cq, Counts& n, std::chrono::system_clock::time_point deadline) {
  void* tag;
  bool ok;
  auto st = cq.AsyncNext(&tag, &ok, deadline);
  if (st != grpc::CompletionQueue::GOT_EVENT) return false;
  auto raw = reinterpret_cast<uintptr_t>(tag);
  auto* c = reinterpret_cast<Call*>(raw & ~uintptr_t{3});
  switch (static_cast<Step>(raw & 3)) {
    case kStart:
      c->started = true;
      ++n.started;
      if (ok) {
        c->reader->Read(&c->env, Tag(c, kRead));
      } else {
        c->reader->Finish(&c->status, Tag(c, kFinish));
      }
      break;
    case kRead:
      if (ok) {
        if (!c->got_event) ++n.events;
        c->got_event = true;
        c->reader->Read(&c->env, Tag(c, kRead));
      } else {
        c->reader->Finish(&c->status, Tag(c, kFinish));
      }
      break;
    case kFinish:
      if (!c->is_sub && !c->started) {
        c->started = true;
        ++n.started;
      }
      c->finished = true;
      ++n.finished;
      break;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: berth-test-flood SOCK NS SUBS WAITS ID [CHANNELS]\n";
    return 2;
  }
  const std::string sock = argv[1], ns = argv[2], id = argv[5];
  const int subs = std::atoi(argv[3]), waits = std::atoi(argv[4]);
  const int nch = argc > 6 ? std::max(1, std::atoi(argv[6])) : 10;
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  for (int i = 0; i < nch; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("berth.flood.channel", i);  // a distinct argument: a connection of its own
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    chans.push_back(grpc::CreateCustomChannel("unix:" + sock, grpc::InsecureChannelCredentials(), args));
  }
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> calls;
  Counts n;
  for (int i = 0; i < subs + waits; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.AddMetadata("containerd-namespace", ns);
    auto& ch = chans[i % nch];
    if (i < subs) {
      c->is_sub = true;
      evv1::SubscribeRequest req;
      c->reader = evv1::Events::NewStub(ch)->PrepareAsyncSubscribe(&c->ctx, req, &cq);
      c->reader->StartCall(Tag(c.get(), kStart));
    } else {
      tkv1::WaitRequest req;
      req.set_container_id(id);
      c->wait = tkv1::Tasks::NewStub(ch)->PrepareAsyncWait(&c->ctx, req, &cq);
      c->wait->StartCall();
      c->wait->Finish(&c->resp, &c->status, Tag(c.get(), kFinish));
    }
    calls.push_back(std::move(c));
  }
  // A unary Wait has no start completion: count it started when sent.
  n.started += waits;
  for (auto& c : calls) {
    if (!c->is_sub) c->started = true;
  }
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(120);
  while (n.started < subs + waits && Pump(cq, n, deadline)) {
  }
  std::cout << "ready started=" << n.started << std::endl;

  std::string line;
  std::getline(std::cin, line);
  deadline = std::chrono::system_clock::now() + std::chrono::seconds(60);
  while (n.events < subs && Pump(cq, n, deadline)) {
  }
  int waits_pending = 0, failed_subs = 0;
  for (auto& c : calls) {
    if (!c->is_sub && !c->finished) ++waits_pending;
    if (c->is_sub && c->finished) ++failed_subs;
  }
  std::cout << "checked events=" << n.events << " waits_pending=" << waits_pending
            << " subs_closed=" << failed_subs << std::endl;
  for (auto& c : calls) c->ctx.TryCancel();
  deadline = std::chrono::system_clock::now() + std::chrono::seconds(60);
  while (n.finished < subs + waits && Pump(cq, n, deadline)) {
  }
  std::cout << "done cancelled=" << n.finished << std::endl;
  bool good = n.events == subs && waits_pending == waits && n.finished == subs + waits;
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return good ? 0 : 1;
}
