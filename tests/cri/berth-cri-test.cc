// berth-cri-test: one Kubernetes CRI call (runtime.v1) against a runtime's socket, request and
// answer as JSON, so integration tests drive berthd and containerd alike and compare answers:
//
//   berth-cri-test SOCK METHOD [REQUEST_JSON] [TIMEOUT_S]
//
// METHOD is a RuntimeService or ImageService method name (Version, PullImage, RunPodSandbox, ...;
// every unary one). REQUEST_JSON uses the proto field names (snake_case or lowerCamel), "{}" by
// default. On success prints the answer as JSON with proto field names (fields at their default
// value left out, as protobuf's JSON mapping does) and exits 0; otherwise prints
// "<grpc code number> <message>" on stderr and exits 1 (2 on a usage error).
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "k8s/cri/runtime/v1/api.grpc.pb.h"

namespace gp = google::protobuf;

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::cerr << "usage: berth-cri-test SOCK METHOD [REQUEST_JSON] [TIMEOUT_S]\n";
    return 2;
  }
  std::string sock = argv[1], method = argv[2];
  std::string body = argc > 3 ? argv[3] : "{}";
  int timeout_s = argc > 4 ? std::atoi(argv[4]) : 300;

  // Make sure the generated descriptors are linked in and registered.
  const gp::FileDescriptor* file = runtime::v1::VersionRequest::descriptor()->file();
  const gp::ServiceDescriptor* services[] = {file->FindServiceByName("RuntimeService"),
                                             file->FindServiceByName("ImageService")};
  const gp::MethodDescriptor* md = nullptr;
  for (const auto* s : services) {
    if ((md = s->FindMethodByName(method)) != nullptr) break;
  }
  if (md == nullptr || md->client_streaming() || md->server_streaming()) {
    std::cerr << "unknown or streaming method " << method << "\n";
    return 2;
  }
  const gp::Message* req_proto = gp::MessageFactory::generated_factory()->GetPrototype(md->input_type());
  const gp::Message* resp_proto = gp::MessageFactory::generated_factory()->GetPrototype(md->output_type());
  std::unique_ptr<gp::Message> req(req_proto->New());
  std::unique_ptr<gp::Message> resp(resp_proto->New());
  gp::util::JsonParseOptions po;
  auto st = gp::util::JsonStringToMessage(body, req.get(), po);
  if (!st.ok()) {
    std::cerr << "bad request JSON: " << st.ToString() << "\n";
    return 2;
  }

  auto channel = grpc::CreateChannel("unix:" + sock, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  grpc::ByteBuffer send, recv;
  bool own = false;
  grpc::GenericSerialize<grpc::ProtoBufferWriter, gp::Message>(*req, &send, &own);
  grpc::CompletionQueue cq;
  std::string path = "/" + md->service()->full_name() + "/" + md->name();
  auto call = stub.PrepareUnaryCall(&ctx, path, send, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&recv, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (!status.ok()) {
    std::cerr << status.error_code() << " " << status.error_message() << "\n";
    return 1;
  }
  auto ds = grpc::GenericDeserialize<grpc::ProtoBufferReader, gp::Message>(&recv, resp.get());
  if (!ds.ok()) {
    std::cerr << "cannot decode the answer: " << ds.error_message() << "\n";
    return 1;
  }
  std::string out;
  gp::util::JsonPrintOptions jo;
  jo.preserve_proto_field_names = true;
  (void)gp::util::MessageToJsonString(*resp, &out, jo);
  std::cout << out << "\n";
  return 0;
}
