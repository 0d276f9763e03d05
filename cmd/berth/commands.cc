#include "cmd/berth/commands.h"

#include "cmd/berth/health.h"
#include "cmd/berth/networks.h"

#include <algorithm>
#include <ctime>
#include <iostream>

namespace berth::cli {

const Command kCommands[] = {
    {"pull", SetupPull},
    {"images", SetupImages},
    {"rmi", SetupRmi},
    {"run", SetupRun},
    {"create", SetupCreate},
    {"start", SetupStart},
    {"restart", SetupRestart},
    {"exec", SetupExec},
    {"ps", SetupPs},
    {"stop", SetupStop},
    {"kill", SetupKill},
    {"rm", SetupRm},
    {"logs", SetupLogs},
    {"pause", SetupPause},
    {"unpause", SetupUnpause},
    {"stats", SetupStats},
    {"volume", SetupVolume},
    {"inspect", SetupInspect},
    {"wait", SetupWait},
    {"tag", SetupTag},
    {"version", SetupVersion},
    {"container", SetupContainerPrune},
    {"image", SetupImagePrune},
    {"compose", SetupCompose},
    {"login", SetupLogin},
    {"logout", SetupLogout},
    {"push", SetupPush},
    {"save", SetupSave},
    {"load", SetupLoad},
    {"events", SetupEvents},
    {"top", SetupTop},
    {"cp", SetupCp},
    {"rename", SetupRename},
    {"system", SetupSystem},
    {"completion", SetupCompletion},
    {"network", SetupNetwork},
    {"port", SetupPort},
    {"internal", SetupInternal},
};
const size_t kNumCommands = sizeof(kCommands) / sizeof(kCommands[0]);

std::shared_ptr<grpc::Channel> Connect(const Globals& g) {
  if (g.channel) return g.channel;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(16 << 20);
  g.channel = grpc::CreateCustomChannel("unix:" + g.address, grpc::InsecureChannelCredentials(), args);
  return g.channel;
}

std::unique_ptr<grpc::ClientContext> NewContext(const Globals& g) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("containerd-namespace", g.ns);
  return ctx;
}

void PrintError(const grpc::Status& s) { std::cerr << "berth: " << s.error_message() << "\n"; }

namespace {
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // one column per code point
  return n;
}
}  // namespace

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = Width(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], Width(r[i]));
  }
  auto print = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] + 3 - Width(r[i]), ' ');
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& r : rows) print(r);
}

std::string HumanSize(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string HumanAge(int64_t t) {
  int64_t d = static_cast<int64_t>(time(nullptr)) - t;
  if (d < 0) d = 0;
  auto fmt = [](int64_t n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (d < 1) return "Less than a second ago";
  if (d < 60) return fmt(d, "second");
  if (d < 3600) return fmt(d / 60, "minute");
  if (d < 86400) return fmt(d / 3600, "hour");
  return fmt(d / 86400, "day");
}

}  // namespace berth::cli
