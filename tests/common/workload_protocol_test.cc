// Protocols in the workload: which protocol a target's scheme implies, the
// `protocol:` and `load.streams_per_connection` keys, and the `grpc:` section
// turned into one framed HTTP/2 request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/workload.h"

namespace horde {
namespace workload_protocol_test {

using ::testing::HasSubstr;

Result<Workload> load(const std::string& yaml, const std::string& source = "p.yaml") {
  auto w = parse_workload(yaml, source);
  if (!w) return w.error();
  return finalize_workload(*w, source);
}

TEST(WorkloadProtocolTest, SchemeDecidesTheProtocol) {
  auto h1 = load("target: http://127.0.0.1:8080/\n");
  ASSERT_TRUE(h1.ok()) << h1.error().message;
  EXPECT_EQ(h1->protocol, Protocol::kHttp1);

  auto h2c = load("target: h2c://127.0.0.1:8080/x\nload: {streams_per_connection: 8}\n");
  ASSERT_TRUE(h2c.ok()) << h2c.error().message;
  EXPECT_EQ(h2c->protocol, Protocol::kHttp2);
  EXPECT_EQ(h2c->load.streams_per_connection, 8u);
  EXPECT_EQ(h2c->targets[0].port, 8080);
  EXPECT_EQ(h2c->targets[0].path, "/x");

  auto tls = load("target: https://localhost/\nprotocol: http2\n");
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_EQ(tls->protocol, Protocol::kHttp2);
  EXPECT_EQ(tls->targets[0].port, 443);
  EXPECT_TRUE(url_uses_tls(tls->targets[0]));
}

TEST(WorkloadProtocolTest, ContradictionsNameTheFix) {
  auto plain = load("target: http://127.0.0.1:1/\nprotocol: http2\n");
  ASSERT_FALSE(plain.ok());
  EXPECT_THAT(plain.error().message, HasSubstr("h2c://"));

  auto streams = load("target: http://127.0.0.1:1/\nload: {streams_per_connection: 4}\n");
  ASSERT_FALSE(streams.ok());
  EXPECT_THAT(streams.error().message, HasSubstr("load.streams_per_connection"));

  auto mixed = load("targets: [h2c://127.0.0.1:1/, http://127.0.0.1:2/]\n");
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.error().message, HasSubstr("one protocol"));

  auto unknown = load("target: h2c://127.0.0.1:1/\nprotocol: spdy\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("protocol: got \"spdy\""));

  auto zero = load("target: h2c://127.0.0.1:1/\nload: {streams_per_connection: 0}\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.error().message, HasSubstr("load.streams_per_connection"));

  auto grpc_on_http = load("target: http://127.0.0.1:1/\ngrpc: {method: /a.B/C}\n");
  ASSERT_FALSE(grpc_on_http.ok());
  EXPECT_THAT(grpc_on_http.error().message, HasSubstr("grpc://"));

  auto no_method = load("target: grpc://127.0.0.1:1\n");
  ASSERT_FALSE(no_method.ok());
  EXPECT_THAT(no_method.error().message, HasSubstr("grpc.method: missing"));

  auto with_requests =
      load("target: grpc://127.0.0.1:1\ngrpc: {method: /a.B/C}\nrequests: [{path: /}]\n");
  ASSERT_FALSE(with_requests.ok());
  EXPECT_THAT(with_requests.error().message, HasSubstr("requests: not used with grpc"));
}

TEST(WorkloadProtocolTest, GrpcSectionBecomesOneFramedPost) {
  auto w = load(
      "target: grpcs://127.0.0.1:9000\n"
      "grpc:\n"
      "  method: /horde.test.Echo/Say\n"
      "  metadata: {x-team: load}\n"
      "  deadline: 250ms\n"
      "load: {connections: 2, streams_per_connection: 10}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->protocol, Protocol::kGrpc);
  ASSERT_EQ(w->requests.size(), 1u);
  const RequestSpec& r = w->requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/horde.test.Echo/Say");
  EXPECT_EQ(r.body, std::string(5, '\0'));  // empty message: flag 0, length 0
  auto has = [&](const std::string& name, const std::string& value) {
    for (const auto& [k, v] : r.headers) {
      if (k == name && v == value) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("content-type", "application/grpc"));
  EXPECT_TRUE(has("te", "trailers"));
  EXPECT_TRUE(has("grpc-timeout", "250m"));
  EXPECT_TRUE(has("x-team", "load"));

  // summary.json's workload: the grpc section, not the binary request.
  const nlohmann::json j = to_json(*w);
  EXPECT_EQ(j["protocol"], "grpc");
  EXPECT_EQ(j["grpc"]["method"], "/horde.test.Echo/Say");
  EXPECT_EQ(j["grpc"]["deadline"], "250ms");
  EXPECT_FALSE(j.contains("requests"));
  EXPECT_EQ(j["load"]["streams_per_connection"], 10);
  auto back = load(j.dump(), "p.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->requests, w->requests);
}

TEST(WorkloadProtocolTest, GrpcMessageFromYamlMapUsesTheProtoFile) {
  char dir[] = "/tmp/horde-proto-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  std::ofstream(d + "/svc.proto") << "syntax = \"proto3\";\npackage t;\n"
                                     "message Req { string text = 1; int32 n = 2; bool on = 3; }\n"
                                     "message Rep {}\n"
                                     "service S { rpc Call(Req) returns (Rep); }\n";
  const std::string yaml =
      "target: grpc://127.0.0.1:9000\n"
      "grpc:\n"
      "  method: /t.S/Call\n"
      "  proto_files: [svc.proto]\n"
      "  message: {text: \"123\", n: -5, on: true}\n";
  std::ofstream(d + "/w.yaml") << yaml;
  auto w = load_workload_file(d + "/w.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto f = finalize_workload(*w, d + "/w.yaml");
  ASSERT_TRUE(f.ok()) << f.error().message;
  // text "123" (field 1, string), n -5 (field 2, varint, 10 bytes), on (field 3).
  const std::string body = f->requests[0].body;
  ASSERT_GE(body.size(), 5u);
  const std::string msg = body.substr(5);
  EXPECT_EQ(static_cast<size_t>(static_cast<unsigned char>(body[4])), msg.size());
  EXPECT_EQ(msg.substr(0, 5), std::string("\x0a\x03"
                                          "123",
                                          5));
  EXPECT_EQ(static_cast<unsigned char>(msg[5]), 0x10);
  EXPECT_EQ(msg.substr(msg.size() - 2), std::string("\x18\x01", 2));

  // A field the message does not have: named in the error.
  std::ofstream(d + "/bad.yaml") << "target: grpc://127.0.0.1:9000\n"
                                    "grpc: {method: /t.S/Call, proto_files: [svc.proto],\n"
                                    "       message: {nope: 1}}\n";
  auto bad = load_workload_file(d + "/bad.yaml");
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  auto fb = finalize_workload(*bad, d + "/bad.yaml");
  ASSERT_FALSE(fb.ok());
  EXPECT_THAT(fb.error().message, HasSubstr("grpc.message"));
  for (const char* f : {"/svc.proto", "/w.yaml", "/bad.yaml"}) std::remove((d + f).c_str());
  rmdir(dir);
}

}  // namespace workload_protocol_test
}  // namespace horde
