// Starts the gRPC test target (tests/grpc_target) and calls it with a stock
// grpc++ generic client, with request messages made by encode_grpc_message: proves
// the target answers statuses and delays as documented and counts its calls, and
// that the encoder's bytes are what a real gRPC server expects.
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "common/grpc_message.h"
#include "common/process.h"

namespace horde {
namespace grpc_target_test {

namespace pb = google::protobuf;
using Clock = std::chrono::steady_clock;

const std::string kEchoDir = HORDE_SOURCE_DIR "/tests/grpc_target";

struct Reply {
  grpc::Status status;
  std::string bytes;
};

class GrpcTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Subprocess::spawn({HORDE_GRPC_TARGET, "--port", "0"}, true);
    ASSERT_TRUE(p) << p.error().message;
    target_ = std::move(*p);
    const std::string marker = "listening on ";
    auto line = target_.read_line(Clock::now() + std::chrono::seconds(15));
    ASSERT_TRUE(line && line->rfind(marker, 0) == 0) << (line ? *line : "(no line)");
    address_ = line->substr(marker.size());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  // One unary call with the request encoded from JSON by the code under test.
  Reply call(const std::string& method, const std::string& json, Millis deadline = Millis(0)) {
    GrpcSpec spec;
    spec.method = method;
    spec.proto_files = {"echo.proto"};
    spec.message_json = json;
    auto bytes = encode_grpc_message(spec, kEchoDir);
    EXPECT_TRUE(bytes) << bytes.error().message;
    if (!bytes) return {};
    grpc::Slice slice(*bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext ctx;
    // A bound on every call so a broken target cannot hang the test.
    ctx.set_deadline(std::chrono::system_clock::now() +
                     (deadline.count() > 0 ? deadline : std::chrono::seconds(20)));
    std::promise<grpc::Status> done;
    stub_->UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                     [&done](grpc::Status s) { done.set_value(std::move(s)); });
    Reply r;
    r.status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    if (r.status.ok() && response.Dump(&slices).ok()) {
      for (const auto& s : slices)
        r.bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return r;
  }

  // Reads a field of a reply with protobuf reflection (independent of the encoder).
  std::unique_ptr<pb::Message> parse(const std::string& type, const std::string& bytes) {
    const pb::Descriptor* d = importer_.pool()->FindMessageTypeByName(type);
    EXPECT_NE(d, nullptr);
    std::unique_ptr<pb::Message> m(factory_.GetPrototype(d)->New());
    EXPECT_TRUE(m->ParseFromString(bytes));
    return m;
  }

  Subprocess target_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;

 private:
  struct Tree : pb::compiler::DiskSourceTree {
    Tree() { MapPath("", kEchoDir); }
  } tree_;
  struct NoErrors : pb::compiler::MultiFileErrorCollector {
    void AddError(const std::string& f, int l, int c, const std::string& m) override {
      ADD_FAILURE() << f << ":" << l << ":" << c << ": " << m;
    }
  } errors_;
  pb::compiler::Importer importer_{&tree_, &errors_};
  const pb::FileDescriptor* echo_ = importer_.Import("echo.proto");
  pb::DynamicMessageFactory factory_{importer_.pool()};
};

TEST_F(GrpcTarget, EchoesStatusesDelaysAndCountsCalls) {
  Reply ok = call("/horde.test.Echo/Say", R"({"text":"hello"})");
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  auto reply = parse("horde.test.SayReply", ok.bytes);
  EXPECT_EQ(
      reply->GetReflection()->GetString(*reply, reply->GetDescriptor()->FindFieldByName("text")),
      "hello");

  Reply not_found = call("/horde.test.Echo/Say", R"({"text":"x","code":5})");
  EXPECT_EQ(not_found.status.error_code(), grpc::StatusCode::NOT_FOUND);
  Reply unavailable = call("/horde.test.Echo/Say", R"({"code":14})");
  EXPECT_EQ(unavailable.status.error_code(), grpc::StatusCode::UNAVAILABLE);

  // A delay longer than the deadline: the client gives up (correctness, not timing: the
  // server would hold the call 60 s, far beyond the 2 s deadline).
  Reply late = call("/horde.test.Echo/Say", R"({"delay_ms":60000})", Millis(2000));
  EXPECT_EQ(late.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // A delay within the deadline still answers OK.
  Reply slow = call("/horde.test.Echo/Say", R"({"text":"z","delay_ms":50})");
  EXPECT_TRUE(slow.status.ok()) << slow.status.error_message();

  Reply stats = call("/horde.test.Echo/Stats", "");
  ASSERT_TRUE(stats.status.ok()) << stats.status.error_message();
  auto s = parse("horde.test.StatsReply", stats.bytes);
  const auto* refl = s->GetReflection();
  EXPECT_EQ(refl->GetUInt64(*s, s->GetDescriptor()->FindFieldByName("calls")), 5u);
  // status_counts is a map<uint32, uint64>: read it as its repeated entry messages.
  const pb::FieldDescriptor* counts = s->GetDescriptor()->FindFieldByName("status_counts");
  std::map<uint32_t, uint64_t> by_code;
  for (int i = 0; i < refl->FieldSize(*s, counts); ++i) {
    const pb::Message& e = refl->GetRepeatedMessage(*s, counts, i);
    by_code[e.GetReflection()->GetUInt32(e, e.GetDescriptor()->FindFieldByName("key"))] =
        e.GetReflection()->GetUInt64(e, e.GetDescriptor()->FindFieldByName("value"));
  }
  EXPECT_EQ(by_code, (std::map<uint32_t, uint64_t>{{0, 3}, {5, 1}, {14, 1}}));

  target_.signal(SIGTERM);
  auto line = target_.read_line(Clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(line.value_or("(none)"), "calls 5");
  EXPECT_EQ(target_.wait_until(Clock::now() + std::chrono::seconds(10)), 0);
}

TEST_F(GrpcTarget, UnknownMethodIsUnimplemented) {
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice slice(std::string{});
  request = grpc::ByteBuffer(&slice, 1);
  std::promise<grpc::Status> done;
  stub_->UnaryCall(&ctx, "/horde.test.Echo/Nope", grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
  EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace grpc_target_test
}  // namespace horde
