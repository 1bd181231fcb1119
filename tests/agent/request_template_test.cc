// Rendering a templated HTTP/1.1 request (agent/request_template.h) and HTTP/2
// request (agent/h2_template.h): the exact bytes, each function's values, and no allocation per
// request once the buffers are warm (tests/agent/counting_allocator.h counts them while a render
// runs).
#include "agent/request_template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <regex>
#include <set>

#include "agent/h2_template.h"
#include "agent/request_table.h"
#include "tests/agent/counting_allocator.h"

namespace horde {
namespace request_template_test {

using testing::allocations;
using testing::counting;

Url target() { return parse_url("http://127.0.0.1:8080/").value(); }

DataSet users() {
  DataSet d = read_csv("id,name\n1,ann\n22,bob\n333,cyrilla\n", "users.csv").value();
  d.name = "users";
  return d;
}

WorkloadSlice slice(DataMode mode = DataMode::kCycle) {
  WorkloadSlice s;
  s.targets = {target()};
  s.data = {users()};
  s.data[0].mode = mode;
  s.agent_name = "agent 1";
  s.seq_first = 5;
  s.seq_stride = 3;
  return s;
}

TEST(RequestTemplate, RendersTheExactRequest) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/users/{{users.id}}?n={{seq}}";
  spec.headers = {{"X-Agent", "{{agent}}"}, {"Accept", "*/*"}};
  spec.body = "{\"name\": \"{{users.name}}\", \"id\": {{users.id}}}";
  RequestTemplate t(target(), spec, data);
  RenderState st(data, 0, 1, 1);
  std::string out;
  ASSERT_TRUE(t.render(st, out));
  EXPECT_EQ(out,
            "POST /users/1?n=5 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Agent: agent_1\r\nAccept: "
            "*/*\r\nContent-Length: 24\r\n\r\n{\"name\": \"ann\", \"id\": 1}");
  ASSERT_TRUE(t.render(st, out));
  EXPECT_EQ(out,
            "POST /users/22?n=8 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Agent: agent_1\r\nAccept: "
            "*/*\r\nContent-Length: 25\r\n\r\n{\"name\": \"bob\", \"id\": 22}");
  // A static part renders like the table's serialized request.
  RequestSpec plain;
  plain.path = "/x/{{seq}}";
  RequestTemplate p(target(), plain, data);
  ASSERT_TRUE(p.render(st, out));
  RequestSpec fixed;
  fixed.path = "/x/11";
  EXPECT_EQ(out, serialize_request(target(), fixed));
}

TEST(RequestTemplate, FunctionsDrawFreshValues) {
  const WorkloadSlice s = slice(DataMode::kRandom);
  TemplateData data(s);
  RequestSpec spec;
  spec.path = "/{{uuid}}/{{random -3 3}}/{{now_ms}}/{{users.id}}";
  RequestTemplate t(target(), spec, data);
  RenderState st(data, 0, 1, 42);
  const std::regex line(
      "GET /([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})/(-?[0-9]+)/"
      "([0-9]+)/([0-9]+) HTTP/1.1");
  std::set<std::string> uuids;
  std::set<int> randoms;
  std::set<std::string> ids;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string out;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(t.render(st, out));
    std::smatch m;
    const std::string first_line = out.substr(0, out.find("\r\n"));
    ASSERT_TRUE(std::regex_match(first_line, m, line)) << out;
    uuids.insert(m[1]);
    randoms.insert(std::stoi(m[2]));
    EXPECT_GE(std::stoll(m[3]), before);
    ids.insert(m[4]);
  }
  EXPECT_EQ(uuids.size(), 500u);
  EXPECT_EQ(randoms, (std::set<int>{-3, -2, -1, 0, 1, 2, 3}));
  EXPECT_EQ(ids, (std::set<std::string>{"1", "22", "333"}));
}

TEST(RequestTemplate, OneRowPerRequestForEveryReference) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.path = "/{{users.id}}/{{users.name}}/{{users.id}}/{{seq}}/{{seq}}";
  RequestTemplate t(target(), spec, data);
  RenderState st(data, 1, 2, 1);  // thread 1 of 2: rows 1, then 0 (wraps), seq 8, 14
  std::string out;
  ASSERT_TRUE(t.render(st, out));
  EXPECT_EQ(out.substr(0, out.find(" HTTP")), "GET /22/bob/22/8/8");
  ASSERT_TRUE(t.render(st, out));
  EXPECT_EQ(out.substr(0, out.find(" HTTP")), "GET /1/ann/1/14/14");
}

TEST(RequestTemplate, UniqueRowsRunOut) {
  const WorkloadSlice s = slice(DataMode::kUnique);
  TemplateData data(s);
  RequestSpec spec;
  spec.path = "/{{users.id}}";
  RequestTemplate t(target(), spec, data);
  RenderState a(data, 0, 2, 1);
  RenderState b(data, 1, 2, 2);
  std::string out;
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(t.render(i % 2 == 0 ? a : b, out));
    EXPECT_TRUE(seen.insert(out.substr(0, out.find(" HTTP"))).second);
  }
  out = "untouched";
  EXPECT_FALSE(t.render(a, out));
  EXPECT_FALSE(t.render(b, out));
  EXPECT_EQ(out, "untouched");
}

TEST(RequestTemplate, NoAllocationPerRequestAfterTheFirst) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/users/{{users.id}}?ref={{random 1 1000000}}";
  spec.headers = {{"X-Request-Id", "{{uuid}}"}, {"X-Agent", "{{agent}}"}};
  spec.body = "{\"name\": \"{{users.name}}\", \"n\": {{seq}}, \"t\": {{now_ms}}}";
  RequestTemplate t(target(), spec, data);
  RenderState st(data, 0, 1, 9);
  std::string out;
  ASSERT_TRUE(t.render(st, out));  // reserves the buffers once
  EXPECT_GE(out.capacity(), t.max_size());
  allocations = 0;
  counting = true;
  bool all = true;
  for (int i = 0; i < 10'000; ++i) all = t.render(st, out) && all;
  counting = false;
  EXPECT_TRUE(all);
  EXPECT_EQ(allocations, 0u);
  // The counter counts: a string that outgrows its buffer allocates.
  counting = true;
  std::string grow(1000, 'x');
  counting = false;
  EXPECT_GE(allocations, 1u);
}

// An HTTP/2 request's fields as "name: value" lines, and its body (whether a
// field is indexed is tests/agent/h2_template_test.cc's).
std::string fields_of(const H2Request& r) {
  std::string out;
  for (const nghttp2_nv& nv : r.fields) {
    out.append(reinterpret_cast<const char*>(nv.name), nv.namelen);
    out += ": ";
    out.append(reinterpret_cast<const char*>(nv.value), nv.valuelen);
    out += "\n";
    EXPECT_EQ(nv.flags & ~NGHTTP2_NV_FLAG_NO_INDEX,
              NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
  }
  return out + "\n" + std::string(r.body);
}

TEST(H2Template, RendersTheFieldsOfBuildH2Request) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/users/{{users.id}}?n={{seq}}";
  spec.headers = {{"Host", "h{{users.id}}.test"},
                  {"X-Agent", "{{agent}}"},
                  {"Accept", "*/*"},
                  {"Connection", "close"}};
  spec.body = "{\"name\": \"{{users.name}}\", \"id\": {{users.id}}}";
  H2Template t(target(), spec, data);
  RenderState st(data, 0, 1, 1);
  H2Render out;
  ASSERT_TRUE(t.render(st, out));
  EXPECT_EQ(fields_of(out.request),
            ":method: POST\n:scheme: http\n:authority: h1.test\n:path: /users/1?n=5\n"
            "x-agent: agent_1\naccept: */*\ncontent-length: 24\n\n"
            "{\"name\": \"ann\", \"id\": 1}");
  ASSERT_TRUE(t.render(st, out));  // the next row and {{seq}}; the same buffers
  EXPECT_EQ(fields_of(out.request),
            ":method: POST\n:scheme: http\n:authority: h22.test\n:path: /users/22?n=8\n"
            "x-agent: agent_1\naccept: */*\ncontent-length: 25\n\n"
            "{\"name\": \"bob\", \"id\": 22}");
  // The same request, rendered by hand, is what build_h2_request() makes of it.
  RequestSpec fixed = spec;
  fixed.path = "/users/22?n=8";
  fixed.headers[0].second = "h22.test";
  fixed.headers[1].second = "agent_1";
  fixed.body = "{\"name\": \"bob\", \"id\": 22}";
  EXPECT_EQ(fields_of(out.request), fields_of(build_h2_request(target(), fixed)));
}

TEST(H2Template, UniqueRowsRunOutAsOnHttp1) {
  const WorkloadSlice s = slice(DataMode::kUnique);
  TemplateData data(s);
  RequestSpec spec;
  spec.path = "/{{users.id}}";
  H2Template t(target(), spec, data);
  RenderState a(data, 0, 2, 1);
  RenderState b(data, 1, 2, 2);
  H2Render out;
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(t.render(i % 2 == 0 ? a : b, out));
    EXPECT_TRUE(seen.insert(fields_of(out.request)).second);
  }
  EXPECT_EQ(seen.size(), 3u);
  const std::string last = fields_of(out.request);
  EXPECT_FALSE(t.render(a, out));
  EXPECT_FALSE(t.render(b, out));
  EXPECT_EQ(fields_of(out.request), last);
}

TEST(H2Template, NoAllocationPerRequestAfterTheFirst) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/users/{{users.id}}?ref={{random 1 1000000}}";
  spec.headers = {{"X-Request-Id", "{{uuid}}"}, {"X-Agent", "{{agent}}"}};
  spec.body = "{\"name\": \"{{users.name}}\", \"n\": {{seq}}, \"t\": {{now_ms}}}";
  H2Template t(target(), spec, data);
  RenderState st(data, 0, 1, 9);
  H2Render out;
  ASSERT_TRUE(t.render(st, out));  // reserves the buffers once
  EXPECT_GE(out.bytes.capacity(), t.max_size());
  const char* buffer = out.bytes.data();
  allocations = 0;
  counting = true;
  bool all = true;
  size_t longest = 0;
  for (int i = 0; i < 10'000; ++i) {
    all = t.render(st, out) && all;
    longest = std::max(longest, out.bytes.size());
  }
  counting = false;
  EXPECT_TRUE(all);
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(out.bytes.data(), buffer);  // the views nghttp2 holds never moved
  EXPECT_LE(longest, t.max_size());
}

TEST(RequestTable, TemplatesCompileOnlyForHttp1AndLiteralsAreUnescaped) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec literal;
  literal.path = "/a";
  literal.body = "{{\"{{\"}}x}}";
  RequestSpec templated;
  templated.path = "/u/{{users.id}}";
  RequestTable table(target(), {literal, templated}, &data, Protocol::kHttp1);
  ASSERT_EQ(table.entries().size(), 2u);
  EXPECT_EQ(table.entries()[0].render, nullptr);
  EXPECT_NE(table.entries()[0].bytes.find("\r\n\r\n{{x}}"), std::string::npos)
      << table.entries()[0].bytes;
  EXPECT_NE(table.entries()[1].render, nullptr);
  EXPECT_TRUE(table.entries()[1].bytes.empty());
  EXPECT_EQ(table.entries()[1].h2_render, nullptr);
  // HTTP/2: the same, rendered into stream slots.
  RequestTable h2(target(), {literal, templated}, &data, Protocol::kHttp2);
  EXPECT_EQ(h2.entries()[0].h2_render, nullptr);
  EXPECT_EQ(std::string(h2.entries()[0].h2.body), "{{x}}");
  ASSERT_NE(h2.entries()[1].h2_render, nullptr);
  EXPECT_EQ(h2.entries()[1].render, nullptr);
  EXPECT_TRUE(h2.entries()[1].h2.fields.empty());
  // gRPC: the body is in protobuf syntax; escaped bytes are sent unescaped,
  // groups are rendered per request.
  RequestSpec call;
  call.method = "POST";
  call.path = "/p.S/M";
  call.body = std::string("\0\0\0\0\x03", 5) + "\x0a{{\"{{\"}}";
  RequestSpec templated_call = call;
  templated_call.body = "{{#frame}}\x0a{{#len}}{{users.name}}{{/}}{{/}}";
  RequestTable grpc(target(), {call, templated_call}, &data, Protocol::kGrpc);
  EXPECT_EQ(std::string(grpc.entries()[0].h2.body), std::string("\0\0\0\0\x03\x0a{{", 8));
  EXPECT_NE(grpc.entries()[1].h2_render, nullptr);
  // Without template data nothing is parsed at all.
  RequestTable bare(target(), {literal}, nullptr, Protocol::kGrpc);
  EXPECT_NE(bare.entries()[0].bytes.find("{{\"{{\"}}x}}"), std::string::npos);
}

// A gRPC message with a string, a varint and a nested message around them:
// the encoding in place allocates nothing either.
TEST(H2Template, GrpcGroupsAllocateNothingPerRequest) {
  const WorkloadSlice s = slice();
  TemplateData data(s);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/p.S/M";
  spec.body =
      "{{#frame}}\x0a{{#len}}{{users.name}}-{{uuid}}{{/}}\x12{{#len}}\x08{{#varint}}{{seq}}{{/}}"
      "\x10{{#zigzag}}-{{users.id}}{{/}}{{/}}{{/}}";
  H2Template t(target(), spec, data, TemplateSyntax::kProtobuf);
  RenderState st(data, 0, 1, 9);
  H2Render out;
  ASSERT_TRUE(t.render(st, out));
  // ann (row 0), seq 5, id 1: 0a 28 "ann-" uuid(36) | 12 04 08 05 10 01 (zigzag(-1) = 1).
  const std::string body(out.request.body);
  ASSERT_EQ(body.size(), 5u + 2 + 40 + 2 + 4);
  EXPECT_EQ(body.substr(0, 5), std::string("\0\0\0\0\x30", 5));
  EXPECT_EQ(body.substr(5, 6),
            "\x0a\x28"
            "ann-");
  EXPECT_EQ(body.substr(47), std::string("\x12\x04\x08\x05\x10\x01", 6));
  const char* buffer = out.bytes.data();
  allocations = 0;
  counting = true;
  size_t longest = 0;
  for (int i = 0; i < 10'000; ++i) {
    t.render(st, out);
    longest = std::max(longest, out.bytes.size());
  }
  counting = false;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(out.bytes.data(), buffer);
  EXPECT_LE(longest, t.max_size());
}

}  // namespace request_template_test
}  // namespace horde
