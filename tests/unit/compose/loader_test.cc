#include "compose/loader.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "compose/render.h"

namespace berth::compose {
namespace {

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/compose-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/My.App";
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(std::filesystem::path(dir_).parent_path()); }

  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }

  LoadOptions Opts() {
    LoadOptions o;
    o.working_dir = dir_;
    o.environment = [this](const std::string& k) -> std::optional<std::string> {
      auto it = env_.find(k);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(LoaderTest, FullServiceNormalised) {
  Write(".env", "TAG=1.36\nPORT=8080\n");
  Write("app.env", "FROM_FILE=yes\nOVER=file\n");
  Write("compose.yaml", R"(
services:
  web:
    image: "busybox:${TAG}"
    command: httpd -f -p 80 -h /www
    ports: ["${PORT}:80", "127.0.0.1:9000-9001:90-91/udp", "3000"]
    volumes:
      - page:/www
      - ./conf:/etc/conf:ro
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1m}
    environment:
      - OVER=env
      - PLAIN=1
    env_file: app.env
    healthcheck:
      test: wget -q -O- http://localhost/
      interval: 1s
      retries: 30
    labels: {tier: front}
    deploy:
      resources:
        limits: {memory: 64m, cpus: "0.5"}
  client:
    image: busybox
    depends_on:
      web: {condition: service_healthy}
    restart: on-failure:2
  worker:
    image: busybox
    entrypoint: ["sleep"]
    command: ["3600"]
    deploy: {replicas: 2}
    networks: [back]
    stop_grace_period: 1m30s
volumes:
  page: {}
networks:
  back:
    ipam:
      config: [{subnet: 10.99.0.0/24}]
)");
  auto p = Load(Opts());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "myapp");  // the directory's name, lower-cased, '.' dropped
  ASSERT_EQ(p->services.size(), 3u);
  const Service& web = p->services.at("web");
  EXPECT_EQ(web.image, "busybox:1.36");
  EXPECT_EQ(*web.command, (std::vector<std::string>{"httpd", "-f", "-p", "80", "-h", "/www"}));
  ASSERT_EQ(web.ports.size(), 4u);
  EXPECT_EQ(web.ports[0], (PortConfig{"", 80, 8080, "tcp"}));
  EXPECT_EQ(web.ports[1], (PortConfig{"127.0.0.1", 90, 9000, "udp"}));
  EXPECT_EQ(web.ports[2], (PortConfig{"127.0.0.1", 91, 9001, "udp"}));
  EXPECT_EQ(web.ports[3], (PortConfig{"", 3000, 0, "tcp"}));
  ASSERT_EQ(web.volumes.size(), 3u);
  EXPECT_EQ(web.volumes[0].type, "volume");
  EXPECT_EQ(web.volumes[0].source, "page");
  EXPECT_EQ(web.volumes[1].type, "bind");
  EXPECT_EQ(web.volumes[1].source, dir_ + "/conf");
  EXPECT_TRUE(web.volumes[1].read_only);
  EXPECT_EQ(web.volumes[2].type, "tmpfs");
  EXPECT_EQ(web.volumes[2].tmpfs_size, 1u << 20);
  EXPECT_EQ(web.environment.at("OVER"), "env");
  EXPECT_EQ(web.environment.at("FROM_FILE"), "yes");
  ASSERT_TRUE(web.healthcheck);
  EXPECT_EQ(web.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "wget -q -O- http://localhost/"}));
  EXPECT_EQ(web.healthcheck->interval_ns, 1'000'000'000);
  EXPECT_EQ(web.healthcheck->retries, 30);
  EXPECT_EQ(web.mem_limit, 64 << 20);
  EXPECT_DOUBLE_EQ(web.cpus, 0.5);
  EXPECT_EQ(web.networks.count("default"), 1u);
  const Service& client = p->services.at("client");
  EXPECT_EQ(client.depends_on.at("web").condition, "service_healthy");
  EXPECT_EQ(client.restart, "on-failure:2");
  const Service& worker = p->services.at("worker");
  EXPECT_EQ(worker.replicas, 2);
  EXPECT_EQ(*worker.entrypoint, std::vector<std::string>{"sleep"});
  EXPECT_EQ(*worker.stop_grace_period_ns, 90'000'000'000);
  EXPECT_EQ(worker.networks.count("back"), 1u);
  EXPECT_EQ(worker.networks.count("default"), 0u);
  EXPECT_EQ(p->networks.at("default").name, "myapp_default");
  EXPECT_EQ(p->networks.at("back").name, "myapp_back");
  EXPECT_EQ(p->networks.at("back").subnets, std::vector<std::string>{"10.99.0.0/24"});
  EXPECT_EQ(p->volumes.at("page").name, "myapp_page");

  // config output parses again into the same model.
  std::string yaml = RenderYaml(*p);
  EXPECT_NE(yaml.find("interval: 1s"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("stop_grace_period: 1m30s"), std::string::npos) << yaml;
  auto again = LoadFiles({{dir_ + "/normalised.yaml", yaml}}, Opts());
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml;
  EXPECT_EQ(again->services, p->services);
  EXPECT_EQ(again->networks, p->networks);
  EXPECT_EQ(again->volumes, p->volumes);
}

TEST_F(LoaderTest, ProjectNameAndEnvironmentPrecedence) {
  Write(".env", "TAG=fromdotenv\nCOMPOSE_PROJECT_NAME=dotenvname\n");
  Write("docker-compose.yml", "name: fromfile\nservices:\n  a:\n    image: \"x:${TAG}\"\n");
  env_["TAG"] = "fromenv";
  auto p = Load(Opts());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->services.at("a").image, "x:fromenv");
  EXPECT_EQ(p->name, "dotenvname");
  LoadOptions o = Opts();
  o.project_name = "Explicit";
  EXPECT_EQ(Load(o)->name, "explicit");
}

TEST_F(LoaderTest, MergesFilesInOrder) {
  Write("compose.yaml", R"(
services:
  a:
    image: busybox
    command: ["sleep", "1"]
    environment: {A: "1", B: "1"}
    ports: ["80:80"]
    volumes: ["/data:/data", "/logs:/logs"]
    labels: ["x=1"]
)");
  Write("compose.override.yaml", R"(
services:
  a:
    command: ["sleep", "2"]
    environment: ["B=2", "C=3"]
    ports: ["81:81"]
    volumes: ["/other:/data:ro"]
    labels: {y: "2"}
  b:
    image: busybox
)");
  auto p = Load(Opts());
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->files.size(), 2u);
  const Service& a = p->services.at("a");
  EXPECT_EQ(*a.command, (std::vector<std::string>{"sleep", "2"}));
  EXPECT_EQ(a.environment, (std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(a.ports.size(), 2u);
  ASSERT_EQ(a.volumes.size(), 2u);
  EXPECT_EQ(a.volumes[0].source, "/other");
  EXPECT_TRUE(a.volumes[0].read_only);
  EXPECT_EQ(a.labels, (std::map<std::string, std::string>{{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(p->services.count("b"), 1u);
}

TEST_F(LoaderTest, UnsupportedAndUnknownKeysNameFileLineAndKey) {
  Write("compose.yaml", "services:\n  web:\n    image: busybox\n    build: .\n");
  auto p = Load(Opts());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(dir_ + "/compose.yaml:4: services.web.build: not supported by berth compose"),
            std::string::npos)
      << p.status();
  Write("compose.yaml", "services:\n  web:\n    image: busybox\n    healthcheck:\n      test: [CMD, true]\n      intervall: 1s\n");
  p = Load(Opts());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("compose.yaml:6: services.web.healthcheck.intervall: unknown key"),
            std::string::npos)
      << p.status();
  Write("compose.yaml", "services:\n  web:\n    image: busybox\nsecrets: {}\n");
  EXPECT_NE(Load(Opts()).status().message().find("compose.yaml:4: secrets: not supported"), std::string::npos);
  Write("compose.yaml", "services:\n  web:\n    image: busybox\n    x-custom: {anything: 1}\nx-top: 1\n");
  EXPECT_TRUE(Load(Opts()).ok());
}

TEST_F(LoaderTest, ReferencesAreChecked) {
  Write("compose.yaml", "services:\n  a:\n    image: x\n    depends_on: [nope]\n");
  EXPECT_NE(Load(Opts()).status().message().find("refers to undefined service nope"), std::string::npos);
  Write("compose.yaml", "services:\n  a:\n    image: x\n    volumes: [\"data:/d\"]\n");
  EXPECT_NE(Load(Opts()).status().message().find("refers to undefined volume data"), std::string::npos);
  Write("compose.yaml", "services:\n  a:\n    image: x\n    networks: [front]\n");
  EXPECT_NE(Load(Opts()).status().message().find("refers to undefined network front"), std::string::npos);
  Write("compose.yaml", "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n");
  EXPECT_NE(Load(Opts()).status().message().find("dependency cycle"), std::string::npos);
  Write("compose.yaml", "services:\n  a:\n    image: x\n    ports: [\"99999:80\"]\n");
  EXPECT_NE(Load(Opts()).status().message().find("compose.yaml:4"), std::string::npos);
  Write("compose.yaml", "services:\n  a:\n    image: \"${NEEDED:?give a tag}\"\n");
  auto p = Load(Opts());
  EXPECT_NE(p.status().message().find("compose.yaml:3: services.a.image: required variable NEEDED"), std::string::npos)
      << p.status();
}

TEST_F(LoaderTest, Profiles) {
  Write("compose.yaml", R"(
services:
  app: {image: x}
  debug: {image: x, profiles: [dev]}
  tools: {image: x, profiles: [ops], depends_on: {debug: {condition: service_started, required: false}}}
)");
  auto p = Load(Opts());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->services.size(), 1u);
  EXPECT_EQ(p->disabled_services.size(), 2u);
  LoadOptions o = Opts();
  o.profiles = {"ops"};
  p = Load(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->services.count("tools"), 1u);
  env_["COMPOSE_PROFILES"] = "dev,ops";
  EXPECT_EQ(Load(Opts())->services.size(), 3u);
}

TEST_F(LoaderTest, ConfigHashChangesOnlyWithTheDefinition) {
  Write("compose.yaml", "services:\n  a: {image: x, command: [sleep, '1']}\n  b: {image: y}\n");
  auto p1 = Load(Opts());
  Write("compose.yaml", "services:\n  a: {image: x, command: [sleep, '2']}\n  b: {image: y, deploy: {replicas: 3}}\n");
  auto p2 = Load(Opts());
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_NE(ConfigHash(p1->services.at("a")), ConfigHash(p2->services.at("a")));
  EXPECT_EQ(ConfigHash(p1->services.at("b")), ConfigHash(p2->services.at("b")));
  EXPECT_EQ(ConfigHash(p1->services.at("b")).size(), 64u);
}

TEST_F(LoaderTest, NoFile) {
  auto p = Load(Opts());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
}

TEST(Render, Durations) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(FormatDuration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(FormatDuration(500'000'000), "500ms");
}

}  // namespace
}  // namespace berth::compose
