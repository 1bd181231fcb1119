#include "common/grpc_message.h"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base64.h"

namespace horde {
namespace grpc_message_test {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "horde-grpc-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& rel, const std::string& content) const {
    const fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  std::string path_;
};

class SilentErrors : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int col, const std::string& msg) override {
    ADD_FAILURE() << file << ":" << line << ":" << col << ": " << msg;
  }
};

// Decodes `bytes` as `type` from the .proto at root/file, independently of the code under test
// (protobuf's stock Importer, binary parse, JSON print with the .proto field names).
nlohmann::json decode(const std::string& root, const std::string& file, const std::string& type,
                      const std::string& bytes) {
  pb::compiler::DiskSourceTree tree;
  tree.MapPath("", root);
  tree.MapPath("", "/usr/include");  // Debian's libprotobuf-dev: google/protobuf/*.proto
  SilentErrors errors;
  pb::compiler::Importer importer(&tree, &errors);
  EXPECT_NE(importer.Import(file), nullptr);
  const pb::Descriptor* d = importer.pool()->FindMessageTypeByName(type);
  EXPECT_NE(d, nullptr);
  if (d == nullptr) return {};
  pb::DynamicMessageFactory factory(importer.pool());
  std::unique_ptr<pb::Message> m(factory.GetPrototype(d)->New());
  EXPECT_TRUE(m->ParseFromString(bytes));
  std::string json;
  pb::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  EXPECT_TRUE(pb::util::MessageToJsonString(*m, &json, opts).ok());
  return nlohmann::json::parse(json);
}

const char* kCommonProto = R"(syntax = "proto3";
package common;
message Money {
  string currency = 1;
  int64 units = 2;
}
)";

const char* kSvcProto = R"(syntax = "proto3";
package t.v1;
import "shared/common.proto";
import "google/protobuf/timestamp.proto";
enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}
message Inner {
  string name = 1;
  repeated int64 values = 2;
}
message Req {
  Inner inner = 1;
  repeated Inner items = 2;
  Color color = 3;
  repeated Color colors = 4;
  map<string, int32> counts = 5;
  common.Money price = 6;
  google.protobuf.Timestamp at = 7;
  bytes blob = 8;
  double ratio = 9;
}
message Rep {}
service Svc {
  rpc Do(Req) returns (Rep);
  rpc Stream(stream Req) returns (Rep);
}
)";

// root/api/svc.proto imports root/shared/common.proto; import path = root.
struct Tree {
  TempDir dir;
  Tree() {
    dir.write("shared/common.proto", kCommonProto);
    dir.write("api/svc.proto", kSvcProto);
  }
  GrpcSpec spec(const std::string& json) const {
    GrpcSpec s;
    s.method = "/t.v1.Svc/Do";
    s.proto_files = {"api/svc.proto"};
    s.import_paths = {"."};
    s.message_json = json;
    return s;
  }
};

std::string echo_proto() { return HORDE_SOURCE_DIR "/tests/grpc_target/echo.proto"; }

GrpcSpec echo_spec(const std::string& json) {
  GrpcSpec s;
  s.method = "/horde.test.Echo/Say";
  s.proto_files = {echo_proto()};
  s.message_json = json;
  return s;
}

std::string error_of(const Result<std::string>& r) { return r ? "(ok)" : r.error().message; }

TEST(GrpcMessage, JsonEncodesToTheProtobufWireBytes) {
  auto bytes = encode_grpc_message(echo_spec(R"({"text":"hi","code":3})"), "");
  ASSERT_TRUE(bytes) << bytes.error().message;
  // Field 1 (len-delimited) "hi", field 2 (varint) 3: hand-encoded.
  EXPECT_EQ(*bytes, std::string("\x0a\x02hi\x10\x03", 6));
}

TEST(GrpcMessage, JsonAcceptsCamelCaseNames) {
  auto a = encode_grpc_message(echo_spec(R"({"delay_ms":7})"), "");
  auto b = encode_grpc_message(echo_spec(R"({"delayMs":7})"), "");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, std::string("\x18\x07", 2));
}

TEST(GrpcMessage, RoundTripsNestedRepeatedEnumsMapsImportsAndWellKnownTypes) {
  Tree t;
  const nlohmann::json in = {
      {"inner", {{"name", "a"}, {"values", {"1", "-2", "9007199254740993"}}}},
      {"items", {{{"name", "x"}}, {{"name", "y"}, {"values", {"3"}}}}},
      {"color", "GREEN"},
      {"colors", {"RED", "GREEN", "RED"}},
      {"counts", {{"k1", 1}, {"k2", -5}}},
      {"price", {{"currency", "EUR"}, {"units", "12"}}},
      {"at", "2024-01-02T03:04:05Z"},
      {"blob", "AAEC/w=="},
      {"ratio", 0.25}};
  auto bytes = encode_grpc_message(t.spec(in.dump()), t.dir.path());
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(decode(t.dir.path(), "api/svc.proto", "t.v1.Req", *bytes), in);
}

TEST(GrpcMessage, DefaultImportPathIsTheProtoFilesDirectory) {
  TempDir dir;
  dir.write("p/common.proto", kCommonProto);
  dir.write("p/svc.proto", R"(syntax = "proto3";
package s;
import "common.proto";
service S { rpc M(common.Money) returns (common.Money); }
)");
  GrpcSpec spec;
  spec.method = "/s.S/M";
  spec.proto_files = {"p/svc.proto"};
  spec.message_json = R"({"currency":"USD","units":"5"})";
  // Relative to base_dir; also as an absolute path.
  auto rel = encode_grpc_message(spec, dir.path());
  ASSERT_TRUE(rel) << rel.error().message;
  spec.proto_files = {dir.path() + "/p/svc.proto"};
  auto abs = encode_grpc_message(spec, "/nonexistent");
  ASSERT_TRUE(abs) << abs.error().message;
  EXPECT_EQ(*rel, *abs);
  EXPECT_EQ(decode(dir.path() + "/p", "common.proto", "common.Money", *rel),
            nlohmann::json({{"currency", "USD"}, {"units", "5"}}));
}

TEST(GrpcMessage, NoMessageGivesEmptyBytesButStillChecksTheMethod) {
  GrpcSpec spec = echo_spec("");
  auto empty = encode_grpc_message(spec, "");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(*empty, "");
  spec.method = "/horde.test.Echo/Shout";
  EXPECT_NE(error_of(encode_grpc_message(spec, "")).find("grpc.method"), std::string::npos);
  // Without proto files nothing can be looked up: only the form is checked.
  GrpcSpec bare;
  bare.method = "/any.Thing/Goes";
  auto none = encode_grpc_message(bare, "");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
}

TEST(GrpcMessage, MessageFileBytesAreSentAsTheyAre) {
  TempDir dir;
  const std::string raw(
      "\x0a\x03"
      "abc\x00\xff",
      7);  // not even valid protobuf: no proto_files
  dir.write("m.bin", raw);
  GrpcSpec spec;
  spec.method = "/a.B/C";
  spec.message_file = "m.bin";
  auto bytes = encode_grpc_message(spec, dir.path());
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(*bytes, raw);

  // With proto_files the bytes must parse as the input type.
  GrpcSpec checked = echo_spec("");
  checked.message_file = dir.write("ok.bin", std::string("\x0a\x02hi", 4));
  auto ok = encode_grpc_message(checked, "");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, std::string("\x0a\x02hi", 4));
  checked.message_file = dir.write("bad.bin", std::string("\x0a\x05"
                                                          "ab",
                                                          4));
  const std::string e = error_of(encode_grpc_message(checked, ""));
  EXPECT_NE(e.find("grpc.message_file"), std::string::npos) << e;
  EXPECT_NE(e.find("horde.test.SayRequest"), std::string::npos) << e;
}

TEST(GrpcMessage, MethodFormIsCheckedWithoutProtoFiles) {
  for (const char* bad : {"", "x.Y/Z", "/x.Y", "/x.Y/Z/W", "/x..Y/Z", "/1x.Y/Z", "/x.Y/", "//Z",
                          "/x.Y/Z-1", "/x Y/Z"}) {
    GrpcSpec spec;
    spec.method = bad;
    const std::string e = error_of(encode_grpc_message(spec, ""));
    EXPECT_EQ(e.rfind("grpc.method", 0), 0u) << bad << ": " << e;
    EXPECT_NE(e.find("/package.Service/Method"), std::string::npos) << e;
  }
  for (const char* good : {"/Svc/Do", "/a.b.c.Svc/Do_it", "/_x.Y1/Z"}) {
    EXPECT_TRUE(check_grpc_method(good)) << good;
  }
}

TEST(GrpcMessage, ServiceAndMethodErrorsSayWhatExists) {
  Tree t;
  GrpcSpec spec = t.spec("");
  spec.method = "/t.v1.Nope/Do";
  std::string e = error_of(encode_grpc_message(spec, t.dir.path()));
  EXPECT_NE(e.find("grpc.method"), std::string::npos) << e;
  EXPECT_NE(e.find("service t.v1.Nope not found in proto_files (api/svc.proto)"), std::string::npos)
      << e;
  EXPECT_NE(e.find("t.v1.Svc"), std::string::npos) << e;

  spec.method = "/t.v1.Svc/Undo";
  e = error_of(encode_grpc_message(spec, t.dir.path()));
  EXPECT_NE(e.find("grpc.method"), std::string::npos) << e;
  EXPECT_NE(e.find("no method Undo"), std::string::npos) << e;
  EXPECT_NE(e.find("Do, Stream"), std::string::npos) << e;

  spec.method = "/t.v1.Svc/Stream";
  e = error_of(encode_grpc_message(spec, t.dir.path()));
  EXPECT_NE(e.find("grpc.method"), std::string::npos) << e;
  EXPECT_NE(e.find("streaming"), std::string::npos) << e;
}

TEST(GrpcMessage, MessageErrorsNameTheField) {
  GrpcSpec both = echo_spec("{}");
  both.message_file = "x.bin";
  std::string e = error_of(encode_grpc_message(both, ""));
  EXPECT_EQ(e.rfind("grpc.message:", 0), 0u) << e;
  EXPECT_NE(e.find("message_file"), std::string::npos) << e;

  GrpcSpec no_protos;
  no_protos.method = "/a.B/C";
  no_protos.message_json = "{}";
  e = error_of(encode_grpc_message(no_protos, ""));
  EXPECT_EQ(e.rfind("grpc.message:", 0), 0u) << e;
  EXPECT_NE(e.find("proto_files"), std::string::npos) << e;

  for (const char* bad : {R"({"nope":1})", R"({"code":"abc"})", R"({"text":)", "[1]"}) {
    e = error_of(encode_grpc_message(echo_spec(bad), ""));
    EXPECT_EQ(e.rfind("grpc.message:", 0), 0u) << bad << ": " << e;
    EXPECT_NE(e.find("horde.test.SayRequest"), std::string::npos) << e;
  }

  GrpcSpec missing_file;
  missing_file.method = "/a.B/C";
  missing_file.message_file = "no/such.bin";
  e = error_of(encode_grpc_message(missing_file, "/nonexistent-dir"));
  EXPECT_EQ(e.rfind("grpc.message_file:", 0), 0u) << e;
  EXPECT_NE(e.find("/nonexistent-dir/no/such.bin"), std::string::npos) << e;
}

TEST(GrpcMessage, ProtoFileErrorsNameTheFieldAndPosition) {
  TempDir dir;
  GrpcSpec spec;
  spec.method = "/a.B/C";
  spec.proto_files = {"missing.proto"};
  std::string e = error_of(encode_grpc_message(spec, dir.path()));
  EXPECT_EQ(e.rfind("grpc.proto_files:", 0), 0u) << e;
  EXPECT_NE(e.find("missing.proto"), std::string::npos) << e;

  dir.write("bad.proto", "syntax = \"proto3\";\npackage a;\nmessage M { int32 x = ; }\n");
  spec.proto_files = {"bad.proto"};
  e = error_of(encode_grpc_message(spec, dir.path()));
  EXPECT_EQ(e.rfind("grpc.proto_files:", 0), 0u) << e;
  EXPECT_NE(e.find(dir.path() + "/bad.proto:3:"), std::string::npos) << e;

  dir.write("imp.proto", "syntax = \"proto3\";\nimport \"gone.proto\";\npackage a;\n");
  spec.proto_files = {"imp.proto"};
  e = error_of(encode_grpc_message(spec, dir.path()));
  EXPECT_EQ(e.rfind("grpc.proto_files:", 0), 0u) << e;
  EXPECT_NE(e.find("gone.proto"), std::string::npos) << e;

  dir.write("elsewhere/x.proto", "syntax = \"proto3\";\n");
  dir.write("inc/y.proto", "syntax = \"proto3\";\n");
  spec.proto_files = {"elsewhere/x.proto"};
  spec.import_paths = {"inc"};
  e = error_of(encode_grpc_message(spec, dir.path()));
  EXPECT_EQ(e.rfind("grpc.proto_files:", 0), 0u) << e;
  EXPECT_NE(e.find("grpc.import_paths"), std::string::npos) << e;

  spec.import_paths = {"not-a-dir"};
  e = error_of(encode_grpc_message(spec, dir.path()));
  EXPECT_EQ(e.rfind("grpc.import_paths:", 0), 0u) << e;
}

GrpcSpec call(std::vector<std::pair<std::string, std::string>> metadata = {}) {
  GrpcSpec s;
  s.method = "/horde.test.Echo/Say";
  s.metadata = std::move(metadata);
  return s;
}

TEST(GrpcRequest, IsAPostWithGrpcHeadersAndAFramedBody) {
  GrpcSpec spec = call({{"X-User", "ann"}, {"authorization", "Bearer t0k"}});
  spec.deadline = Millis(1500);
  auto r = grpc_request(spec, "hello");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/horde.test.Echo/Say");
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", "application/grpc"},
      {"te", "trailers"},
      {"grpc-timeout", "1500m"},
      {"x-user", "ann"},
      {"authorization", "Bearer t0k"}};
  EXPECT_EQ(r->headers, headers);
  EXPECT_EQ(r->body, std::string("\x00\x00\x00\x00\x05hello", 10));
  EXPECT_EQ(r->weight, 1u);
}

TEST(GrpcRequest, NoDeadlineNoTimeoutHeader) {
  auto r = grpc_request(call(), "");
  ASSERT_TRUE(r);
  for (const auto& [name, value] : r->headers) EXPECT_NE(name, "grpc-timeout");
  EXPECT_EQ(r->body, std::string(5, '\0'));
}

TEST(GrpcRequest, FramePrefixIsBigEndianLength) {
  const std::string big(0x012345, 'x');
  const std::string f = grpc_frame(big);
  ASSERT_EQ(f.size(), big.size() + 5);
  EXPECT_EQ(f.substr(0, 5), std::string("\x00\x00\x01\x23\x45", 5));
  EXPECT_EQ(f.substr(5), big);
  EXPECT_EQ(grpc_frame(std::string(256, 'y')).substr(0, 5), std::string("\x00\x00\x00\x01\x00", 5));
}

TEST(GrpcRequest, TimeoutUsesTheFinestUnitWithinEightDigits) {
  EXPECT_EQ(grpc_timeout_value(Millis(1)), "1m");
  EXPECT_EQ(grpc_timeout_value(Millis(250)), "250m");
  EXPECT_EQ(grpc_timeout_value(Millis(60'000)), "60000m");
  EXPECT_EQ(grpc_timeout_value(Millis(99'999'999)), "99999999m");
  EXPECT_EQ(grpc_timeout_value(Millis(100'000'000)), "100000S");
  EXPECT_EQ(grpc_timeout_value(Millis(100'000'001)), "100001S");  // rounded up, never early
  EXPECT_EQ(grpc_timeout_value(Millis(99'999'999'001LL)), "1666667M");
  EXPECT_EQ(grpc_timeout_value(Millis(18'000'000'000'000LL)), "5000000H");
  EXPECT_EQ(grpc_timeout_value(Millis(18'000'000'000'001LL)), "5000001H");
  EXPECT_EQ(grpc_timeout_value(Millis::max()), "99999999H");
  auto neg = call();
  neg.deadline = Millis(-1);
  auto r = grpc_request(neg, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("grpc.deadline:", 0), 0u);
}

TEST(GrpcRequest, BinaryMetadataIsBase64Encoded) {
  auto r = grpc_request(call({{"Trace-Bin", std::string("\x00\x01\x02\xff", 4)}}), "");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->headers.back(), std::make_pair(std::string("trace-bin"), std::string("AAEC/w==")));
  // RFC 4648 test vectors.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(GrpcRequest, MetadataIsValidated) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {":authority", "x"},     {"grpc-foo", "x"},
      {"grpc-timeout", "1S"},  {"content-type", "x"},
      {"te", "trailers"},      {"connection", "close"},
      {"bad name", "x"},       {"", "x"},
      {"x-uni\xc3\xa9", "x"},  {"x-ok", "line\nbreak"},
      {"x-ok", "caf\xc3\xa9"}, {"x-ok", std::string("a\0b", 3)}};
  for (const auto& md : bad) {
    auto r = grpc_request(call({md}), "");
    ASSERT_FALSE(r) << md.first << "=" << md.second;
    EXPECT_EQ(r.error().message.rfind("grpc.metadata:", 0), 0u) << r.error().message;
  }
  auto r = grpc_request(call({{"grpc-timeout", "1S"}}), "");
  EXPECT_NE(r.error().message.find("grpc.deadline"), std::string::npos);
  auto ok = grpc_request(call({{"x.a_b-9", " any printable ~ "}}), "");
  EXPECT_TRUE(ok) << ok.error().message;
}

}  // namespace grpc_message_test
}  // namespace horde
