// HPACK indexing of templated HTTP/2 fields (agent/h2_template.h): a field whose
// template holds a value new on every request carries NGHTTP2_NV_FLAG_NO_INDEX,
// and nghttp2's own deflater, given two rendered requests in a row, then adds
// nothing to the connection's dynamic table for it; a field from data columns
// stays indexed and is sent as an index once its values are in the table.
#include "agent/h2_template.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <string>
#include <vector>

#include "agent/request_table.h"
#include "common/data_set.h"
#include "common/grpc_message.h"

namespace horde {
namespace h2_template_test {

Url target() { return parse_url("http://127.0.0.1:8080/").value(); }

WorkloadSlice slice() {
  WorkloadSlice s;
  s.targets = {target()};
  DataSet d = read_csv("id,tenant\n1,acme\n22,initech\n333,acme\n", "users.csv").value();
  d.name = "users";
  s.data = {d};
  s.agent_name = "agent-1";
  return s;
}

constexpr uint8_t kNoCopy = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;

// Each field's name and whether it is sent never indexed; every field is
// taken without copying either way.
std::map<std::string, bool> never_indexed(const H2Request& r) {
  std::map<std::string, bool> out;
  for (const nghttp2_nv& nv : r.fields) {
    EXPECT_EQ(nv.flags & kNoCopy, kNoCopy);
    EXPECT_EQ(nv.flags & ~(kNoCopy | NGHTTP2_NV_FLAG_NO_INDEX), 0);
    out[std::string(reinterpret_cast<const char*>(nv.name), nv.namelen)] =
        (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0;
  }
  return out;
}

TEST(H2Template, FieldsWithAValueNewEveryRequestAreNeverIndexed) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/users/{{users.id}}?n={{seq}}";
  const std::string narrow = "{{random 1 " + std::to_string(kMaxIndexedRandomSpan) + "}}";
  const std::string wide = "{{random 1 " + std::to_string(kMaxIndexedRandomSpan + 1) + "}}";
  spec.headers = {{"Host", "{{users.tenant}}.test"},
                  {"X-Request-Id", "{{uuid}}"},
                  {"X-Sent-At", "{{now_ms}}"},
                  {"X-Trace", "{{users.tenant}}-{{uuid}}"},  // one unique slot is enough
                  {"X-Wide", wide},
                  {"X-Narrow", narrow},
                  {"X-Shifted", "{{random -100 -37}}"},  // 64 values
                  {"X-Tenant", "{{users.tenant}}"},
                  {"X-Agent", "{{agent}}"},
                  {"Accept", "*/*"}};
  spec.body = "{\"id\": \"{{uuid}}\"}";  // the body does not make content-length unique
  H2Template t(target(), spec, data);
  RenderState st(data, 0, 1, 1);
  H2Render out;
  const std::map<std::string, bool> want = {
      {":method", false},     {":scheme", false},       {":authority", false}, {":path", true},
      {"x-request-id", true}, {"x-sent-at", true},      {"x-trace", true},     {"x-wide", true},
      {"x-narrow", false},    {"x-shifted", false},     {"x-tenant", false},   {"x-agent", false},
      {"accept", false},      {"content-length", false}};
  for (int i = 0; i < 2; ++i) {  // decided once: the same on every render
    ASSERT_TRUE(t.render(st, out));
    EXPECT_EQ(never_indexed(out.request), want) << "request " << i;
  }
}

TEST(H2Template, GrpcMetadataTakesTheSameRule) {
  const WorkloadSlice s = [] {
    WorkloadSlice w = slice();
    w.targets = {parse_url("grpc://127.0.0.1:50051").value()};
    w.protocol = Protocol::kGrpc;
    return w;
  }();
  TemplateData data(s);
  GrpcSpec g;
  g.method = "/g.S/Do";
  g.metadata = {{"x-call-id", "{{uuid}}"}, {"x-tenant", "{{users.tenant}}"}};
  auto spec = grpc_request(g, "");
  ASSERT_TRUE(spec) << spec.error().message;
  // The route an agent takes: the table compiles it for gRPC.
  RequestTable table(s.targets[0], {*spec}, &data, Protocol::kGrpc);
  ASSERT_NE(table.entries()[0].h2_render, nullptr);
  RenderState st(data, 0, 1, 1);
  H2Render out;
  ASSERT_TRUE(table.entries()[0].h2_render->render(st, out));
  const std::map<std::string, bool> got = never_indexed(out.request);
  EXPECT_TRUE(got.at("x-call-id"));
  EXPECT_FALSE(got.at("x-tenant"));
  EXPECT_FALSE(got.at("content-type"));
  EXPECT_FALSE(got.at("te"));
}

// One connection's HPACK encoder, as nghttp2_session holds it (4,096 bytes).
class Deflater {
 public:
  Deflater() { EXPECT_EQ(nghttp2_hd_deflate_new(&d_, 4096), 0); }
  ~Deflater() { nghttp2_hd_deflate_del(d_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  // The header block of `r`, encoded after every request before it.
  std::string deflate(const H2Request& r) {
    std::string out(nghttp2_hd_deflate_bound(d_, r.fields.data(), r.fields.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(d_, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                         r.fields.data(), r.fields.size());
    EXPECT_GT(n, 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }
  size_t entries() const { return nghttp2_hd_deflate_get_num_table_entries(d_); }
  size_t table_bytes() const { return nghttp2_hd_deflate_get_dynamic_table_size(d_); }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

TEST(H2Template, AUuidHeaderDoesNotGrowTheDynamicTable) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.path = "/users/{{users.id}}";
  spec.headers = {{"X-Request-Id", "{{uuid}}"}, {"User-Agent", "horde"}};
  H2Template t(target(), spec, data);
  RenderState st(data, 0, 1, 1);
  H2Render out;
  Deflater hpack;
  ASSERT_TRUE(t.render(st, out));
  const std::string first = hpack.deflate(out.request);
  const size_t entries = hpack.entries();
  const size_t bytes = hpack.table_bytes();
  ASSERT_TRUE(t.render(st, out));
  ASSERT_EQ(out.request.fields[4].valuelen, 36u);  // x-request-id
  const std::string second = hpack.deflate(out.request);
  // Indexed, the second uuid would be one more entry of 32 + 12 + 36 bytes.
  EXPECT_EQ(hpack.entries(), entries);
  EXPECT_EQ(hpack.table_bytes(), bytes);
  // Whatever else was indexed on the first request (:authority, user-agent)
  // is an index now; the uuid and :path are literals both times.
  EXPECT_LT(second.size(), first.size());
}

// Is every field of the header block `b` the indexed representation (RFC 7541
// 6.1: first bit 1, the index an integer with a 7-bit prefix)?
bool all_indexed(const std::string& b) {
  for (size_t i = 0; i < b.size();) {
    const auto first = static_cast<unsigned char>(b[i++]);
    if ((first & 0x80) == 0) return false;
    if ((first & 0x7f) != 0x7f) continue;
    while (i < b.size() && (static_cast<unsigned char>(b[i]) & 0x80) != 0) ++i;
    ++i;  // the integer's last byte
  }
  return true;
}

TEST(H2Template, DataColumnsAndNarrowRangesStayIndexedAndAreSentAsAnIndex) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.headers = {{"X-Tenant", "{{users.tenant}}"},
                  {"X-Shard", "{{random 1 " + std::to_string(kMaxIndexedRandomSpan) + "}}"}};
  H2Template t(target(), spec, data);
  RenderState st(data, 0, 1, 7);
  H2Render out;
  Deflater hpack;
  // Every tenant and every shard has been seen well before request 2,000 (a
  // given shard is missed 1,000 times in a row with probability (63/64)^1000).
  for (int i = 0; i < 1'000; ++i) {
    ASSERT_TRUE(t.render(st, out));
    hpack.deflate(out.request);
  }
  const size_t entries = hpack.entries();
  for (int i = 0; i < 1'000; ++i) {
    ASSERT_TRUE(t.render(st, out));
    // :method, :scheme, :authority, :path, x-tenant and x-shard, each an index
    // into the static table (1..61) or the dynamic one, which is not full.
    ASSERT_TRUE(all_indexed(hpack.deflate(out.request))) << "request " << i;
  }
  EXPECT_LT(hpack.table_bytes(), 4096u - 100);
  EXPECT_EQ(hpack.entries(), entries);
}

}  // namespace h2_template_test
}  // namespace horde
