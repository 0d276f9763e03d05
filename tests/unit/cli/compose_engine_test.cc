// berth compose's engine without a daemon: services as run flags and the dependency order.
#include <gtest/gtest.h>

#include <algorithm>

#include "cmd/berth/compose_engine.h"
#include "compose/loader.h"

namespace berth::cli {
namespace {

compose::Project Load(const std::string& yaml) {
  compose::LoadOptions o;
  o.project_name = "demo";
  o.environment = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto p = compose::LoadFiles({{"/srv/app/compose.yaml", yaml}}, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : compose::Project();
}

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(ComposeEngineTest, DependencyOrderPutsDependenciesFirst) {
  auto p = Load(R"(
services:
  client: {image: busybox, depends_on: [api]}
  api: {image: busybox, depends_on: {db: {condition: service_healthy}}}
  db: {image: busybox}
  other: {image: busybox}
)");
  auto all = ServiceOrder(p, {}, true);
  ASSERT_TRUE(all.ok()) << all.status();
  auto pos = [&](const std::string& s) { return std::find(all->begin(), all->end(), s) - all->begin(); };
  EXPECT_EQ(all->size(), 4u);
  EXPECT_LT(pos("db"), pos("api"));
  EXPECT_LT(pos("api"), pos("client"));
  auto one = ServiceOrder(p, {"client"}, true);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<std::string>{"db", "api", "client"}));
  auto no_deps = ServiceOrder(p, {"client"}, false);
  ASSERT_TRUE(no_deps.ok());
  EXPECT_EQ(*no_deps, (std::vector<std::string>{"client"}));
  EXPECT_EQ(ServiceOrder(p, {"nope"}, true).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ComposeEngineTest, ServiceBecomesRunFlags) {
  auto p = Load(R"(
services:
  web:
    image: busybox:1
    entrypoint: ["sh", "-c"]
    command: ["echo hi"]
    environment: {A: "1"}
    labels: {team: x}
    volumes: ["data:/data:ro", "/tmp:/site", {type: tmpfs, target: /cache}]
    ports: ["8080:80/tcp"]
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 5}
    restart: on-failure:3
    mem_limit: 64m
    cpus: 0.5
    stop_grace_period: 1500ms
    networks: {front: {aliases: [www]}}
volumes: {data: {}}
networks: {front: {}}
)");
  const auto& s = p.services.at("web");
  auto r = ServiceToRun(p, s, 2, false);
  ASSERT_TRUE(r.ok()) << r.status();
  const ContainerFlags& f = r->flags;
  EXPECT_EQ(f.name, "demo-web-2");
  EXPECT_EQ(f.image, "busybox:1");
  EXPECT_TRUE(f.detach);
  EXPECT_TRUE(f.entrypoint_set);
  EXPECT_EQ(f.entrypoint, "sh");
  EXPECT_EQ(r->args, (std::vector<std::string>{"-c", "echo hi"}));
  EXPECT_TRUE(Has(f.env, "A=1"));
  EXPECT_TRUE(Has(f.labels, "team=x"));
  EXPECT_TRUE(Has(f.labels, "com.docker.compose.project=demo"));
  EXPECT_TRUE(Has(f.labels, "com.docker.compose.service=web"));
  EXPECT_TRUE(Has(f.labels, "com.docker.compose.container-number=2"));
  EXPECT_TRUE(Has(f.labels, "com.docker.compose.oneoff=False"));
  EXPECT_TRUE(std::any_of(f.labels.begin(), f.labels.end(),
                          [](const std::string& l) { return l.rfind("com.docker.compose.config-hash=", 0) == 0; }));
  EXPECT_TRUE(Has(f.mounts, "type=volume,source=demo_data,target=/data,readonly"));
  EXPECT_TRUE(Has(f.mounts, "type=bind,source=/tmp,target=/site"));
  EXPECT_TRUE(Has(f.mounts, "type=tmpfs,target=/cache"));
  EXPECT_EQ(f.health_test, (std::vector<std::string>{"CMD", "true"}));
  EXPECT_EQ(f.health_interval, "2s");
  EXPECT_EQ(f.health_retries, 5);
  EXPECT_EQ(f.restart, "on-failure:3");
  EXPECT_EQ(f.memory, "67108864");
  EXPECT_EQ(f.cpus, "0.5");
  EXPECT_EQ(f.stop_timeout, 2);  // rounded up to whole seconds
  ASSERT_EQ(f.network_attachments.size(), 1u);
  EXPECT_EQ(f.network_attachments[0].network, "demo_front");
  EXPECT_EQ(f.network_attachments[0].aliases, (std::vector<std::string>{"web", "www"}));
  ASSERT_EQ(f.ports.size(), 1u);
  EXPECT_EQ(f.ports[0].host_port, 8080);
  EXPECT_EQ(f.ports[0].container_port, 80);
  EXPECT_EQ(f.ports[0].protocol, "tcp");

  // A one-off (compose run): no name of its own, no ports, no restart policy.
  auto run = ServiceToRun(p, s, 1, true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->flags.name, "");
  EXPECT_TRUE(run->flags.ports.empty());
  EXPECT_EQ(run->flags.restart, "no");
  EXPECT_TRUE(Has(run->flags.labels, "com.docker.compose.oneoff=True"));
}

TEST(ComposeEngineTest, NetworkModesAndRefusals) {
  auto p = Load(R"(
services:
  h: {image: busybox, network_mode: host}
  n: {image: busybox, network_mode: none}
  d: {image: busybox}
)");
  auto h = ServiceToRun(p, p.services.at("h"), 1, false);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->flags.networks, (std::vector<std::string>{"host"}));
  auto n = ServiceToRun(p, p.services.at("n"), 1, false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->flags.networks, (std::vector<std::string>{"none"}));
  auto d = ServiceToRun(p, p.services.at("d"), 1, false);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->flags.network_attachments.size(), 1u);
  EXPECT_EQ(d->flags.network_attachments[0].network, "demo_default");
  EXPECT_EQ(d->flags.network_attachments[0].aliases, (std::vector<std::string>{"d"}));
}

}  // namespace
}  // namespace berth::cli
