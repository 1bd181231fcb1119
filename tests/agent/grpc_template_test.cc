// Templates in a gRPC message (common/grpc_template.h): compiled on the
// controller's side, rendered by the agent's HTTP/2 template, the body must be
// byte for byte what protobuf itself encodes for the same values (the JSON
// with each template replaced by what it rendered), whatever the lengths do
// to the varints around it.
#include "common/grpc_template.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/h2_template.h"
#include "agent/request_template.h"
#include "common/data_set.h"
#include "common/grpc_message.h"
#include "common/template.h"

namespace horde {
namespace grpc_template_test {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kProto = R"(syntax = "proto3";
package g;
import "google/protobuf/wrappers.proto";
import "google/protobuf/timestamp.proto";
message Item {
  string sku = 1;
  int64 n = 2;
}
message Req {
  string id = 1;
  int64 seq = 2;
  sint64 delta = 3;
  uint32 small = 4;
  Item item = 5;
  repeated Item items = 6;
  map<string, string> tags = 7;
  google.protobuf.StringValue note = 8;
  repeated int64 packed = 9;
  double ratio = 10;
  string plain = 11;
  bytes blob = 12;
  google.protobuf.Timestamp at = 13;
  map<string, Item> by_key = 14;
}
service S {
  rpc Do(Req) returns (Req);
}
)";

class ProtoDir {
 public:
  ProtoDir() {
    std::string tmpl = (fs::temp_directory_path() / "horde-grpct-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    std::ofstream(fs::path(path_) / "g.proto") << kProto;
  }
  ~ProtoDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  GrpcSpec spec(const json& message) const {
    GrpcSpec s;
    s.method = "/g.S/Do";
    s.proto_files = {path_ + "/g.proto"};
    s.message_json = message.dump();
    return s;
  }

 private:
  std::string path_;
};

std::string error_of(const Result<std::string>& r) { return r ? std::string() : r.error().message; }

// users: id, n; the second row's id is long enough for two-byte lengths.
DataSet users() {
  DataSet d = read_csv("id,n\nann,3\nbob-" + std::string(200, 'x') + ",-12345678901\n", "users.csv")
                  .value();
  d.name = "users";
  return d;
}

// What `message` says with the templates of row `row` and sequence number `seq` filled in.
json filled(const std::string& id, const std::string& n, uint64_t seq) {
  return {{"id", "user-" + id},
          {"seq", std::to_string(seq)},
          {"delta", n},
          {"small", 5},
          {"item", {{"sku", id}, {"n", "7"}}},
          {"items", {{{"sku", "a"}}, {{"sku", "s" + std::to_string(seq)}, {"n", n}}}},
          {"tags", {{"k", id}, {"fixed", "v"}}},
          {"note", "agent-7"},
          {"packed", {1, 2, 3}},
          {"ratio", 0.5},
          {"plain", "has {{ braces"},
          {"by_key", {{"a", {{"sku", id}}}}}};
}

TEST(GrpcTemplate, RendersWhatProtobufEncodesForTheSameValues) {
  ProtoDir dir;
  const json message = {{"id", "user-{{users.id}}"},
                        {"seq", "{{seq}}"},
                        {"delta", "{{users.n}}"},
                        {"small", "{{random 5 5}}"},
                        {"item", {{"sku", "{{users.id}}"}, {"n", "7"}}},
                        {"items", {{{"sku", "a"}}, {{"sku", "s{{seq}}"}, {"n", "{{users.n}}"}}}},
                        {"tags", {{"k", "{{users.id}}"}, {"fixed", "v"}}},
                        {"note", "{{agent}}"},
                        {"packed", {1, 2, 3}},
                        {"ratio", 0.5},
                        {"plain", "has {{\"{{\"}} braces"},
                        {"by_key", {{"a", {{"sku", "{{users.id}}"}}}}}};
  auto body = grpc_body_template(dir.spec(message), "");
  ASSERT_TRUE(body) << body.error().message;
  ASSERT_TRUE(parse_template(*body, TemplateSyntax::kProtobuf));

  WorkloadSlice s;
  s.targets = {parse_url("grpc://127.0.0.1:50051").value()};
  s.protocol = Protocol::kGrpc;
  s.data = {users()};
  s.agent_name = "agent-7";
  s.seq_first = 100;
  s.seq_stride = 1;
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/g.S/Do";
  spec.body = *body;
  H2Template t(s.targets[0], spec, data, TemplateSyntax::kProtobuf);
  RenderState st(data, 0, 1, 1);
  H2Render out;
  const DataSet& u = data.sets[0];
  for (uint64_t k = 0; k < 4; ++k) {  // both rows, twice: lengths grow and shrink again
    ASSERT_TRUE(t.render(st, out));
    const std::string id(u.cell(k % 2, 0));
    const std::string n(u.cell(k % 2, 1));
    auto want = encode_grpc_message(dir.spec(filled(id, n, 100 + k)), "");
    ASSERT_TRUE(want) << want.error().message;
    EXPECT_EQ(std::string(out.request.body), grpc_frame(*want)) << "request " << k;
    EXPECT_LE(out.bytes.size(), t.max_size());
  }
}

TEST(GrpcTemplate, WithoutTemplatesTheBytesAreTheMessagesEscaped) {
  ProtoDir dir;
  auto plain = grpc_body_template(dir.spec({{"id", "x"}, {"seq", 3}}), "");
  ASSERT_TRUE(plain) << plain.error().message;
  auto bytes = encode_grpc_message(dir.spec({{"id", "x"}, {"seq", 3}}), "");
  EXPECT_EQ(*plain, grpc_frame(*bytes));
  // A message whose bytes hold "{{" (here a literal in a string) travels escaped
  // and is its literal text again.
  auto braces = grpc_body_template(dir.spec({{"id", "{{\"{{\"}}x"}}), "");
  ASSERT_TRUE(braces) << braces.error().message;
  auto t = parse_template(*braces, TemplateSyntax::kProtobuf);
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->is_static());
  auto want = encode_grpc_message(dir.spec({{"id", "{{x"}}), "");
  EXPECT_EQ(std::string(t->literal()), grpc_frame(*want));
}

TEST(GrpcTemplate, FieldsThatCannotTakeATemplateAreNamed) {
  ProtoDir dir;
  auto e = error_of(grpc_body_template(dir.spec({{"seq", "{{uuid}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: seq: an integer field takes"), std::string::npos) << e;
  e = error_of(grpc_body_template(dir.spec({{"seq", "n{{seq}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: seq: \"n\""), std::string::npos) << e;
  e = error_of(grpc_body_template(dir.spec({{"ratio", "{{seq}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: ratio: a double field"), std::string::npos) << e;
  e = error_of(grpc_body_template(dir.spec({{"blob", "{{seq}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: blob: a bytes field"), std::string::npos) << e;
  e = error_of(grpc_body_template(dir.spec({{"packed", {"{{seq}}"}}}), ""));
  EXPECT_NE(e.find("grpc.message: packed[0]: templates in a packed"), std::string::npos) << e;
  e = error_of(grpc_body_template(dir.spec({{"at", "{{now_ms}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: at: templates are not supported in google.protobuf.Timestamp"),
            std::string::npos)
      << e;
  e = error_of(grpc_body_template(dir.spec({{"tags", {{"{{seq}}", "v"}}}}), ""));
  EXPECT_NE(e.find("grpc.message: tags: \"{{seq}}\": templates in map keys"), std::string::npos)
      << e;
  e = error_of(grpc_body_template(dir.spec({{"item", {{"sku", "{{nope}}"}}}}), ""));
  EXPECT_NE(e.find("grpc.message: item.sku: unknown template \"{{nope}}\""), std::string::npos)
      << e;
  // protobuf's own errors still come through for what is not a template.
  e = error_of(grpc_body_template(dir.spec({{"nosuch", "{{seq}}"}}), ""));
  EXPECT_NE(e.find("grpc.message: not a valid g.Req"), std::string::npos) << e;
}

}  // namespace grpc_template_test
}  // namespace horde
