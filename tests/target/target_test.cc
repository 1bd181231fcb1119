// Tests of the sample target over real sockets on 127.0.0.1 with ephemeral ports. Clients are
// plain blocking POSIX sockets with a receive timeout, so a broken server fails a test instead of
// hanging it. Nothing here checks speed: capacity is checked through the /__stats counters.
#include "target/target.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "target/request_parser.h"
#include "tests/target/target_client.h"

namespace horde {
namespace target_test {

using namespace std::chrono_literals;
using namespace target_test;

TEST(TargetServer, RequestGets200WithBody) {
  TargetServer server(Options(1, 4, 0us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  Client client((*ports)[0]);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(kGet));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok\n");
  EXPECT_EQ(response->headers.find("connection: close"), std::string::npos);
  EXPECT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{1}; }));
}

TEST(TargetServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  TargetServer server(Options(1, 4, 1000us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  Client client((*ports)[0]);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.Send(kGet));
    auto response = client.Read();
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok\n");
  }
  EXPECT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{5}; }));
}

TEST(TargetServer, PipelinedRequestsAreAnsweredInOrder) {
  // With a service time, the immediate /__stats answers must still wait their turn.
  TargetServer server(Options(1, 4, 20ms));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  Client client((*ports)[0]);
  std::string batch;
  batch += kGet;
  batch += kGetStats;
  batch += "POST /submit HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
  batch += "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n";
  batch += kGet;
  batch += kGetStats;
  ASSERT_TRUE(client.Send(batch));
  std::vector<std::string> kinds;
  for (int i = 0; i < 6; ++i) {
    auto response = client.Read(/*head_request=*/i == 3);
    ASSERT_TRUE(response) << "response " << i;
    EXPECT_EQ(response->status, 200);
    if (i == 3) {
      EXPECT_NE(response->headers.find("content-length: 3"), std::string::npos);
    }
    bool json = response->headers.find("application/json") != std::string::npos;
    kinds.push_back(json ? "stats" : response->body);
  }
  // The HEAD answer carries the length of "ok\n" but no body.
  EXPECT_EQ(kinds, (std::vector<std::string>{"ok\n", "stats", "ok\n", "", "ok\n", "stats"}));
  EXPECT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{4}; }));
}

TEST(TargetServer, BodySplitAcrossWritesIsDiscarded) {
  TargetServer server(Options(1, 1, 0us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  Client client((*ports)[0]);
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123"));
  std::this_thread::sleep_for(20ms);  // lets the server see the partial body on its own
  ASSERT_TRUE(client.Send(std::string("456789") + std::string(kGet)));
  for (int i = 0; i < 2; ++i) {
    auto response = client.Read();
    ASSERT_TRUE(response) << "response " << i;
    EXPECT_EQ(response->status, 200);
  }
}

TEST(TargetServer, StatsCountExactlyWhatWasServedPerInstance) {
  TargetServer server(Options(3, 2, 0us, 2));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  ASSERT_EQ(ports->size(), 3u);
  EXPECT_NE((*ports)[0], (*ports)[1]);
  EXPECT_NE((*ports)[1], (*ports)[2]);
  const std::vector<int> sent = {2, 5, 0};
  for (size_t i = 0; i < sent.size(); ++i) {
    Client client((*ports)[i]);
    for (int r = 0; r < sent[i]; ++r) {
      ASSERT_TRUE(client.Send(kGet));
      ASSERT_TRUE(client.Read());
    }
  }
  nlohmann::json stats;
  ASSERT_TRUE(PollUntil([&] {
    stats = Stats((*ports)[2]);
    return stats != nullptr && stats["served"] == 7;
  })) << stats.dump();
  ASSERT_EQ(stats["instances"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& instance = stats["instances"][i];
    EXPECT_EQ(instance["instance"], i);
    EXPECT_EQ(instance["port"], (*ports)[i]);
    EXPECT_EQ(instance["served"], sent[i]);
    EXPECT_EQ(instance["workers"], 2);
    EXPECT_EQ(instance["busy"], 0);
    EXPECT_EQ(instance["queued"], 0);
  }
  // /__stats itself is never counted.
  EXPECT_EQ(Stats((*ports)[0])["served"], 7);
  EXPECT_EQ(server.served(), (std::vector<uint64_t>{2, 5, 0}));
}

TEST(TargetServer, RequestsQueueWhenAllWorkersAreBusy) {
  // Capacity as correctness: 2 workers take 2 of 4 concurrent requests, the other 2 wait.
  TargetServer server(Options(1, 2, 1s));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>((*ports)[0]));
    ASSERT_TRUE(clients.back()->Send(kGet));
  }
  nlohmann::json stats;
  EXPECT_TRUE(PollUntil([&] {
    stats = Stats((*ports)[0]);
    return stats != nullptr && stats["instances"][0]["busy"] == 2 &&
           stats["instances"][0]["queued"] == 2;
  })) << stats.dump();
  EXPECT_EQ(stats["served"], 0);
  for (auto& client : clients) {
    auto response = client->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_TRUE(PollUntil([&] {
    stats = Stats((*ports)[0]);
    return stats != nullptr && stats["served"] == 4 && stats["instances"][0]["busy"] == 0 &&
           stats["instances"][0]["queued"] == 0;
  })) << stats.dump();
}

TEST(TargetServer, ConnectionCloseIsHonoured) {
  TargetServer server(Options(1, 1, 0us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  {
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->headers.find("connection: close"), std::string::npos);
    EXPECT_TRUE(client.ReadsEof());
  }
  {
    // HTTP/1.0 closes by default.
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.ReadsEof());
  }
  {
    // A half-closed client still gets its answer.
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send(kGet));
    client.ShutdownWrite();
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.ReadsEof());
  }
}

TEST(TargetServer, BadRequestsGetAnErrorAndClose) {
  TargetServer server(Options(1, 1, 0us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  const std::vector<std::pair<std::string, int>> cases = {
      {"this is not http\r\n\r\n", 400},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},  // a TLS hello
      {"GET / HTTP/2.0\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411},
      {"GET / HTTP/1.1\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n", 431},
  };
  for (const auto& [request, status] : cases) {
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send(request));
    auto response = client.Read();
    ASSERT_TRUE(response) << request.substr(0, 40);
    EXPECT_EQ(response->status, status) << request.substr(0, 40);
    EXPECT_NE(response->headers.find("connection: close"), std::string::npos);
    EXPECT_TRUE(client.ReadsEof()) << request.substr(0, 40);
  }
  EXPECT_EQ(server.served(), std::vector<uint64_t>{0});
}

TEST(TargetServer, StartOnAPortInUseNamesTheAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  uint16_t port = ntohs(addr.sin_port);

  TargetOptions options = Options(1, 1, 0us);
  options.port = port;
  TargetServer server(options);
  auto ports = server.start();
  ASSERT_FALSE(ports);
  EXPECT_NE(ports.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << ports.error().message;
  server.stop();
  ::close(fd);
}

TEST(TargetServer, StopIsPromptAndIdempotent) {
  TargetServer server(Options(2, 1, 30s, 2));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  Client busy((*ports)[0]);
  ASSERT_TRUE(busy.Send(kGet));  // holds the only worker for 30 s
  Client queued((*ports)[0]);
  ASSERT_TRUE(queued.Send(kGet));
  ASSERT_TRUE(PollUntil([&] {
    auto stats = Stats((*ports)[1]);
    return stats != nullptr && stats["instances"][0]["queued"] == 1;
  }));
  auto before = std::chrono::steady_clock::now();
  server.stop();
  // Generous bound: stop must not wait for the 30 s service time.
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  EXPECT_TRUE(busy.ReadsEof());
  EXPECT_TRUE(queued.ReadsEof());
  server.stop();
  EXPECT_EQ(server.served(), (std::vector<uint64_t>{0, 0}));
  Client late((*ports)[0]);
  EXPECT_FALSE(late.connected());
}

TEST(TargetServer, StopWithoutStartAndCountsSurviveStop) {
  {
    TargetServer never_started(Options(2, 1, 0us));
    never_started.stop();
    EXPECT_EQ(never_started.served(), (std::vector<uint64_t>{0, 0}));
  }
  TargetServer server(Options(1, 1, 0us));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  {
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send(std::string(kGet) + std::string(kGet)));
    ASSERT_TRUE(client.Read());
    ASSERT_TRUE(client.Read());
  }
  ASSERT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{2}; }));
  server.stop();
  EXPECT_EQ(server.served(), std::vector<uint64_t>{2});
  EXPECT_FALSE(server.start());  // one start per server
}

TEST(TargetServer, ManyConnectionsOnSeveralThreads) {
  TargetServer server(Options(2, 8, 200us, 2));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  std::vector<std::thread> threads;
  constexpr int kClients = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client((*ports)[c % 2]);
      for (int r = 0; r < kRequests; ++r) {
        if (!client.Send(kGet)) return;
        auto response = client.Read();
        if (!response || response->status != 200) return;
        ok.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  uint64_t per_instance = kClients / 2 * kRequests;
  EXPECT_TRUE(PollUntil([&] {
    return server.served() == std::vector<uint64_t>{per_instance, per_instance};
  }));
}

TEST(TargetOptionsTest, ValidationNamesTheField) {
  TargetOptions o;
  EXPECT_TRUE(ValidateTargetOptions(o));
  o.instances = 0;
  EXPECT_NE(ValidateTargetOptions(o).error().message.find("--instances"), std::string::npos);
  o = {};
  o.workers = 0;
  EXPECT_NE(ValidateTargetOptions(o).error().message.find("--workers"), std::string::npos);
  o = {};
  o.threads = 0;
  EXPECT_NE(ValidateTargetOptions(o).error().message.find("--threads"), std::string::npos);
  o = {};
  o.service_time = std::chrono::microseconds(-1);
  EXPECT_NE(ValidateTargetOptions(o).error().message.find("--service-time"), std::string::npos);
  o = {};
  o.port = 65535;
  o.instances = 2;
  EXPECT_FALSE(ValidateTargetOptions(o));
  EXPECT_EQ(run_target(o), 2);
}

TEST(RequestParser, ParsesWhatTheTargetNeeds) {
  using target::ParseRequestHead;
  using target::ParseStatus;
  target::RequestHead head;
  std::string one = "GET /__stats?x=1 HTTP/1.1\r\nHost: a\r\nconnection: Keep-Alive, CLOSE\r\n\r\n";
  std::string pipelined = one + "GET";
  ASSERT_EQ(ParseRequestHead(pipelined, head), ParseStatus::kOk);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/__stats");
  EXPECT_EQ(head.head_size, one.size());
  EXPECT_FALSE(head.keep_alive);

  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", head),
            ParseStatus::kOk);
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_TRUE(head.keep_alive);

  ASSERT_EQ(ParseRequestHead("POST / HTTP/1.1\r\nContent-Length:  42 \r\n\r\n", head),
            ParseStatus::kOk);
  EXPECT_EQ(head.content_length, 42u);
  EXPECT_TRUE(head.keep_alive);

  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nHost: a\r\n", head), ParseStatus::kIncomplete);
  EXPECT_EQ(ParseRequestHead("", head), ParseStatus::kIncomplete);
  EXPECT_EQ(
      ParseRequestHead("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", head),
      ParseStatus::kBad);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", head), ParseStatus::kBad);
  EXPECT_EQ(ParseRequestHead("GET  / HTTP/1.1\r\n\r\n", head), ParseStatus::kBad);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\r\n" + std::string(9000, 'a'), head),
            ParseStatus::kTooLarge);
}

}  // namespace target_test
}  // namespace horde
