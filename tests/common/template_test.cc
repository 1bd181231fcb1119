// Request templates: every function, the literal escape, and each error the
// workload loader and the agent report (common/template.h).
#include "common/template.h"

#include <gtest/gtest.h>

namespace horde {
namespace template_test {

Template ok(const std::string& s) {
  auto t = parse_template(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.error().message;
  return t.ok() ? std::move(*t) : Template{};
}

std::string error(const std::string& s) {
  auto t = parse_template(s);
  EXPECT_FALSE(t.ok()) << s;
  return t.ok() ? std::string() : t.error().message;
}

std::string literal_of(const Template& t, const TemplatePiece& p) {
  return t.text.substr(p.begin, p.size);
}

TEST(Template, LiteralTextIsOnePiece) {
  const Template t = ok("/users/42?x=}}");
  EXPECT_TRUE(t.is_static());
  EXPECT_EQ(t.literal(), "/users/42?x=}}");
  ASSERT_EQ(t.pieces.size(), 1u);
  EXPECT_TRUE(ok("").pieces.empty());
}

TEST(Template, EveryFunction) {
  const Template t =
      ok("/a/{{uuid}}/{{seq}}/{{ random -5 10 }}/{{now_ms}}/{{agent}}/{{users.id}}!");
  ASSERT_EQ(t.pieces.size(), 13u);
  EXPECT_EQ(literal_of(t, t.pieces[0]), "/a/");
  EXPECT_EQ(t.pieces[1].fn, TemplateFn::kUuid);
  EXPECT_EQ(t.pieces[3].fn, TemplateFn::kSeq);
  EXPECT_EQ(t.pieces[5].fn, TemplateFn::kRandom);
  EXPECT_EQ(t.pieces[5].lo, -5);
  EXPECT_EQ(t.pieces[5].span, 16u);
  EXPECT_EQ(t.pieces[7].fn, TemplateFn::kNowMs);
  EXPECT_EQ(t.pieces[9].fn, TemplateFn::kAgent);
  EXPECT_EQ(t.pieces[11].fn, TemplateFn::kData);
  EXPECT_EQ(t.pieces[11].set, "users");
  EXPECT_EQ(t.pieces[11].column, "id");
  EXPECT_EQ(literal_of(t, t.pieces[12]), "!");
  EXPECT_FALSE(t.is_static());
}

TEST(Template, RandomBounds) {
  EXPECT_EQ(ok("{{random 7 7}}").pieces[0].span, 1u);
  EXPECT_EQ(ok("{{random +1 3}}").pieces[0].lo, 1);
  const Template wide = ok("{{random -4611686018427387904 4611686018427387904}}");
  EXPECT_EQ(wide.pieces[0].span, (uint64_t{1} << 63) + 1);
  EXPECT_NE(error("{{random 5 1}}").find("A <= B"), std::string::npos);
  EXPECT_NE(error("{{random 1}}").find("{{random 1 1000}}"), std::string::npos);
  EXPECT_NE(error("{{random a b}}").find("integers"), std::string::npos);
  EXPECT_NE(error("{{random 1 2 3}}").find("integers"), std::string::npos);
  EXPECT_NE(error("{{random 0 9223372036854775807}}").find("2^62"), std::string::npos);
}

TEST(Template, LiteralBraces) {
  const Template t = ok("{\"a\": {{\"{{\"}}x}}}");
  EXPECT_TRUE(t.is_static());
  EXPECT_EQ(t.literal(), "{\"a\": {{x}}}");
  EXPECT_EQ(ok("{{ \"}}\" }}").literal(), "}}");
  EXPECT_EQ(ok("a{{\"\"}}b").literal(), "ab");
}

TEST(Template, ErrorsNameTheTemplateAndTheAllowedNames) {
  const std::string e = error("/x/{{user_id}}");
  EXPECT_NE(e.find("{{user_id}}"), std::string::npos) << e;
  EXPECT_NE(e.find("uuid, seq, random A B, now_ms, agent, DATA.COLUMN"), std::string::npos) << e;
  EXPECT_NE(error("{{}}").find("unknown template"), std::string::npos);
  EXPECT_NE(error("{{ }}").find("unknown template"), std::string::npos);
  EXPECT_NE(error("{{uuid 4}}").find("takes no arguments"), std::string::npos);
  EXPECT_NE(error("{{seq x}}").find("takes no arguments"), std::string::npos);
  EXPECT_NE(error("/a/{{uuid").find("unclosed {{ at byte 3"), std::string::npos);
  EXPECT_NE(error("{{\"abc}}").find("unclosed"), std::string::npos);
  EXPECT_NE(error("{{\"a\" b}}").find("must end with"), std::string::npos);
  EXPECT_NE(error("{{users.}}").find("DATA.COLUMN"), std::string::npos);
  EXPECT_NE(error("{{.id}}").find("DATA.COLUMN"), std::string::npos);
  EXPECT_NE(error("{{a.b.c}}").find("DATA.COLUMN"), std::string::npos);
  EXPECT_NE(error("{{users.id x}}").find("unknown template"), std::string::npos);
}

TEST(Template, BindResolvesDataSetsAndColumns) {
  Template t = ok("{{skus.sku}}-{{users.name}}-{{users.id}}");
  const std::vector<DataColumns> sets = {{"users", {"id", "name"}}, {"skus", {"sku"}}};
  ASSERT_TRUE(bind_template(t, sets).ok());
  EXPECT_EQ(t.pieces[0].set_index, 1);
  EXPECT_EQ(t.pieces[0].column_index, 0);
  EXPECT_EQ(t.pieces[2].set_index, 0);
  EXPECT_EQ(t.pieces[2].column_index, 1);
  EXPECT_EQ(t.pieces[4].column_index, 0);

  Template missing_column = ok("{{users.email}}");
  auto e = bind_template(missing_column, sets);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("has no column \"email\"; its columns are id, name"),
            std::string::npos)
      << e.error().message;
  Template missing_set = ok("{{orders.id}}");
  e = bind_template(missing_set, sets);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("the data sets are users, skus"), std::string::npos)
      << e.error().message;
  e = bind_template(missing_set, {});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("declare it under data:"), std::string::npos);
}

TEST(Template, AppendMergesLiterals) {
  Template t;
  t.append_literal("GET ");
  t.append(ok("/a/{{seq}}/b"));
  t.append_literal(" HTTP/1.1");
  ASSERT_EQ(t.pieces.size(), 3u);
  EXPECT_EQ(literal_of(t, t.pieces[0]), "GET /a/");
  EXPECT_EQ(literal_of(t, t.pieces[2]), "/b HTTP/1.1");
}

TEST(Template, TooManySlots) {
  std::string s;
  for (size_t i = 0; i <= kMaxTemplateSlots; ++i) s += "{{seq}},";
  EXPECT_NE(error(s).find("more than 1000"), std::string::npos);
}

// The groups of a gRPC message: only in protobuf syntax, balanced, bounded in depth.
TEST(Template, ProtobufGroupsAreBalancedAndOnlyInProtobufSyntax) {
  const auto proto = [](const std::string& s) {
    return parse_template(s, TemplateSyntax::kProtobuf);
  };
  auto t =
      proto("{{#frame}}\x0a{{#len}}a{{seq}}{{/}}\x10{{#varint}}{{seq}}{{/}}{{#zigzag}}1{{/}}{{/}}");
  ASSERT_TRUE(t) << t.error().message;
  std::vector<TemplateFn> fns;
  for (const auto& p : t->pieces) fns.push_back(p.fn);
  using F = TemplateFn;
  EXPECT_EQ(fns, (std::vector<F>{F::kFrameBegin, F::kLiteral, F::kLenBegin, F::kLiteral, F::kSeq,
                                 F::kEnd, F::kLiteral, F::kVarintBegin, F::kSeq, F::kEnd,
                                 F::kZigzagBegin, F::kLiteral, F::kEnd, F::kEnd}));
  EXPECT_EQ(integer_pieces(*t), (std::vector<bool>{false, false, false, false, false, false, false,
                                                   false, true, false, false, true, false, false}));
  EXPECT_FALSE(proto("{{#len}}a"));
  EXPECT_NE(proto("{{#len}}a").error().message.find("not closed"), std::string::npos);
  EXPECT_NE(proto("a{{/}}").error().message.find("closes no group"), std::string::npos);
  std::string deep;
  for (size_t i = 0; i <= kMaxTemplateDepth; ++i) deep += "{{#len}}";
  EXPECT_NE(proto(deep).error().message.find("deeper than 32"), std::string::npos);
  // In a request field they are unknown names.
  EXPECT_NE(error("{{#len}}a{{/}}").find("unknown template \"{{#len}}\""), std::string::npos);
}

TEST(Template, EscapedBytesAreTheirOwnLiteral) {
  for (const std::string& bytes : {std::string("{{"), std::string("a{{{b"), std::string("{{{{"),
                                   std::string("x{{\"{{\"}}y"), std::string("\0{{}}\xff", 6)}) {
    auto t = parse_template(escape_template(bytes), TemplateSyntax::kProtobuf);
    ASSERT_TRUE(t) << bytes;
    EXPECT_TRUE(t->is_static());
    EXPECT_EQ(std::string(t->literal()), bytes);
  }
}

}  // namespace template_test
}  // namespace horde
