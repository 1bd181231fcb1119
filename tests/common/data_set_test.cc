// Data sets: CSV (RFC 4180 quoting, CRLF, BOM) and JSONL reading, the size
// bound, and the `data:` section of a workload with its template checks
// (missing columns, values that do not fit their field, not in gRPC calls).
#include "common/data_set.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/wire.h"
#include "common/workload.h"

namespace horde {
namespace data_set_test {

std::vector<std::string> row(const DataSet& d, size_t r) {
  std::vector<std::string> out;
  for (size_t c = 0; c < d.columns.size(); ++c) out.emplace_back(d.cell(r, c));
  return out;
}

using Row = std::vector<std::string>;

TEST(Csv, HeaderRowsAndRfc4180Quoting) {
  auto d = read_csv(
      "id,name,note\r\n1,ann,plain\r\n2,\"b, c\",\"say \"\"hi\"\"\"\n3,\"two\nlines\",\n", "t");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->columns, (Row{"id", "name", "note"}));
  ASSERT_EQ(d->rows(), 3u);
  EXPECT_EQ(row(*d, 0), (Row{"1", "ann", "plain"}));
  EXPECT_EQ(row(*d, 1), (Row{"2", "b, c", "say \"hi\""}));
  EXPECT_EQ(row(*d, 2), (Row{"3", "two\nlines", ""}));
  EXPECT_EQ(d->widest(1), 9u);
}

TEST(Csv, BomNoFinalNewlineAndBlankLines) {
  auto d = read_csv("\xEF\xBB\xBFid\n\n7\n8", "t");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->columns, (Row{"id"}));
  ASSERT_EQ(d->rows(), 2u);
  EXPECT_EQ(d->cell(1, 0), "8");
  auto quoted_empty = read_csv("a,b\n\"\",\"\"\n", "t");
  ASSERT_TRUE(quoted_empty.ok()) << quoted_empty.error().message;
  EXPECT_EQ(quoted_empty->rows(), 1u);
}

TEST(Csv, Errors) {
  auto expect_error = [](const std::string& text, const std::string& part) {
    auto d = read_csv(text, "users.csv");
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_NE(d.error().message.find(part), std::string::npos) << d.error().message;
    EXPECT_EQ(d.error().message.rfind("users.csv: ", 0), 0u) << d.error().message;
  };
  expect_error("", "empty; expected a header row");
  expect_error("\xEF\xBB\xBF", "empty");
  expect_error("id,name\n", "a header row but no rows");
  expect_error("id,name\n1,a\n2\n", "line 3: has 1 fields; the header row has 2 columns");
  expect_error("id,name\n1,a,b\n", "has 3 fields");
  expect_error("id,\n1,2\n", "column 2 of the header row has no name");
  expect_error("id,id\n1,2\n", "column \"id\" named twice");
  expect_error("id\n\"open\n", "line 2: a quoted field is not closed");
  expect_error("id\n\"a\"b\n", "text after a quoted field's closing quote");
  expect_error("id\na\"b\n", "a quote inside an unquoted field");
}

TEST(Csv, SizeBound) {
  std::string big = "v\n";
  big.resize(kMaxDataBytes + 1, 'x');
  auto d = read_csv(big, "big.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("at most 64 MiB"), std::string::npos) << d.error().message;
  big.resize(kMaxDataBytes);  // exactly the bound: read
  auto at_bound = read_csv(big, "big.csv");
  ASSERT_TRUE(at_bound.ok()) << at_bound.error().message;
  EXPECT_EQ(at_bound->rows(), 1u);
}

TEST(Jsonl, ValuesColumnsAndMissingKeys) {
  auto d = read_jsonl(
      "{\"sku\": \"A-1\", \"n\": 3}\r\n\n{\"sku\": \"B\", \"n\": 2.5, \"tag\": null}\n"
      "{\"n\": true, \"obj\": {\"x\": 1}}\n",
      "t");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->columns, (Row{"sku", "n", "tag", "obj"}));
  ASSERT_EQ(d->rows(), 3u);
  EXPECT_EQ(row(*d, 0), (Row{"A-1", "3", "", ""}));
  EXPECT_EQ(row(*d, 1), (Row{"B", "2.5", "", ""}));
  EXPECT_EQ(row(*d, 2), (Row{"", "true", "", "{\"x\":1}"}));
  // The line of the first row without each key (0: every row has it).
  EXPECT_EQ(d->first_missing, (std::vector<size_t>{4, 0, 1, 1}));
}

TEST(Jsonl, Errors) {
  auto e = read_jsonl("{\"a\": 1}\n[1, 2]\n", "s.jsonl");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("s.jsonl: line 2: expected one JSON object per line"),
            std::string::npos)
      << e.error().message;
  EXPECT_FALSE(read_jsonl("{\"a\": 1", "s").ok());
  auto empty = read_jsonl("\n\n", "s.jsonl");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("no rows"), std::string::npos);
  auto bom = read_jsonl("\xEF\xBB\xBF{\"a\": \"x\"}", "s");
  ASSERT_TRUE(bom.ok()) << bom.error().message;
  EXPECT_EQ(bom->cell(0, 0), "x");
}

// A workload file in a fresh directory beside its data files.
class DataWorkload : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/horde_data_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write("users.csv", "id,name\n1,ann\n2,bob\n3,cy\n");
    write("skus.jsonl", "{\"sku\": \"A\"}\n{\"sku\": \"B\"}\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  Result<Workload> load(const std::string& yaml) {
    write("w.yaml", yaml);
    auto w = load_workload_file((dir_ / "w.yaml").string());
    if (!w) return w;
    return finalize_workload(std::move(*w), (dir_ / "w.yaml").string());
  }
  std::string error(const std::string& yaml) {
    auto w = load(yaml);
    EXPECT_FALSE(w.ok()) << yaml;
    return w.ok() ? std::string() : w.error().message;
  }
  std::filesystem::path dir_;
};

TEST_F(DataWorkload, ReadRelativeToTheWorkloadFile) {
  auto w = load(
      "target: http://127.0.0.1:9/\n"
      "data: {users: {file: users.csv}, skus: {file: skus.jsonl, mode: random}}\n"
      "requests:\n"
      "  - path: /users/{{users.id}}?ref={{random 1 1000}}\n"
      "    headers: {X-Request-Id: '{{uuid}}', X-Agent: '{{agent}}'}\n"
      "  - method: POST\n"
      "    path: /orders\n"
      "    body: '{\"sku\": \"{{skus.sku}}\", \"n\": {{seq}}, \"user\": \"{{users.name}}\"}'\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->data.size(), 2u);  // by name
  EXPECT_EQ(w->data[1].name, "users");
  EXPECT_EQ(w->data[1].mode, DataMode::kCycle);
  EXPECT_EQ(w->data[1].rows(), 3u);
  EXPECT_EQ(w->data[1].file, (dir_ / "users.csv").string());
  EXPECT_EQ(w->data[0].mode, DataMode::kRandom);
  // to_json names the files and modes, and parses back to the same workload.
  const auto j = to_json(*w);
  EXPECT_EQ(j["data"]["skus"]["mode"], "random");
  EXPECT_EQ(j["data"]["users"]["file"], (dir_ / "users.csv").string());
  auto again = parse_workload(j.dump(), "summary.json");
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto final_again = finalize_workload(*again, "summary.json");
  ASSERT_TRUE(final_again.ok()) << final_again.error().message;
  EXPECT_EQ(final_again->data, w->data);
}

TEST_F(DataWorkload, EveryErrorNamesTheField) {
  const std::string head = "target: http://127.0.0.1:9/\n";
  EXPECT_NE(
      error(head + "data: {users: {file: users.csv}}\nrequests: [{path: '/u/{{users.email}}'}]\n")
          .find("requests[0].path: \"{{users.email}}\": data set \"users\" has no column "
                "\"email\"; its columns are id, name"),
      std::string::npos);
  EXPECT_NE(error(head + "requests: [{path: /u, headers: {X-Id: '{{user}}'}}]\n")
                .find("requests[0].headers.X-Id: unknown template \"{{user}}\""),
            std::string::npos);
  EXPECT_NE(error(head + "requests: [{body: '{{nope}}'}]\n").find("requests[0].body: "),
            std::string::npos);
  EXPECT_NE(error(head + "data: {users: {file: nope.csv}}\n").find("data.users.file: cannot read"),
            std::string::npos);
  EXPECT_NE(error(head + "data: {users: {file: users.txt}}\n").find("expected a .csv file"),
            std::string::npos);
  EXPECT_NE(error(head + "data: {users: {file: users.csv, mode: once}}\n")
                .find("data.users.mode: got \"once\"; expected cycle, random or unique"),
            std::string::npos);
  EXPECT_NE(error(head + "data: {users: {path: users.csv}}\n").find("data.users"),
            std::string::npos);
  EXPECT_NE(error(head + "data: {'a b': {file: users.csv}}\n").find("invalid data set name"),
            std::string::npos);
  EXPECT_NE(error(head + "requests: [{path: '/a {{seq}}'}]\n")
                .find("requests[0].path: got \"/a {{seq}}\" with spaces"),
            std::string::npos);
  // HTTP/2 takes templates; so does a gRPC message, whose integer fields take
  // integer columns only; unique with several phases.
  EXPECT_TRUE(load("target: h2c://127.0.0.1:9/\nrequests: [{path: '/{{seq}}'}]\n").ok());
  const std::string call =
      "target: grpc://127.0.0.1:9\ndata: {users: {file: users.csv}}\n"
      "grpc: {method: /horde.test.Echo/Say, proto_files: [" HORDE_SOURCE_DIR
      "/tests/grpc_target/echo.proto], ";
  auto grpc = load(call + "message: {text: 'hi {{users.name}}', delay_ms: '{{users.id}}'}}\n");
  EXPECT_TRUE(grpc.ok()) << (grpc ? "" : grpc.error().message);
  EXPECT_NE(error(call + "message: {delay_ms: '{{users.name}}'}}\n")
                .find("grpc.message: \"{{users.name}}\": row 1 of"),
            std::string::npos);
  EXPECT_NE(error(call + "message: {text: 'hi'}, metadata: {x-user: '{{users.nope}}'}}\n")
                .find("grpc.metadata.x-user: \"{{users.nope}}\": data set \"users\" has no column"),
            std::string::npos);
  EXPECT_NE(error(head + "data: {users: {file: users.csv, mode: unique}}\n"
                         "load: {connections: 2}\nsweep: {agents: [1, 2]}\n"
                         "requests: [{path: '/{{users.id}}'}]\n")
                .find("data.users.mode: unique with a sweep"),
            std::string::npos);
}

TEST_F(DataWorkload, ValuesMustFitWhereTheyGo) {
  write("spaces.csv", "q,line\na b,ok\nc,\"x\ny\"\n");
  const std::string head =
      "target: http://127.0.0.1:9/\ndata: {s: {file: spaces.csv}}\nrequests: [";
  EXPECT_NE(error(head + "{path: '/search?q={{s.q}}'}]\n")
                .find("requests[0].path: \"{{s.q}}\": row 1 of"),
            std::string::npos);
  EXPECT_NE(error(head + "{path: /, headers: {X-L: '{{s.line}}'}}]\n").find("row 2 of"),
            std::string::npos);
  // A body takes anything.
  EXPECT_TRUE(load(head + "{method: POST, path: /, body: '{{s.q}} {{s.line}}'}]\n").ok());
  // JSONL: a row without the key a template uses.
  write("part.jsonl", "{\"a\": 1, \"b\": 2}\n{\"a\": 3}\n");
  const std::string e = error(
      "target: http://127.0.0.1:9/\ndata: {p: {file: part.jsonl}}\n"
      "requests: [{path: '/{{p.a}}/{{p.b}}'}]\n");
  EXPECT_NE(e.find("\"{{p.b}}\": line 2 of"), std::string::npos) << e;
  EXPECT_NE(e.find("every row must have every column a template uses"), std::string::npos) << e;
}

TEST_F(DataWorkload, LiteralBracesAndPlainRequestsStayAsTheyWere) {
  auto w = load(
      "target: h2c://127.0.0.1:9/\nrequests: [{method: POST, path: /, body: "
      "'{{\"{{\"}}not a template}}'}]\n");
  ASSERT_TRUE(w.ok()) << w.error().message;  // a literal {{ is fine on HTTP/2
  EXPECT_EQ(w->requests[0].body, "{{\"{{\"}}not a template}}");
}

TEST_F(DataWorkload, SliceCarriesTheRows) {
  auto w = load(
      "target: http://127.0.0.1:9/\ndata: {users: {file: users.csv, mode: unique}}\n"
      "requests: [{path: '/u/{{users.id}}/{{seq}}'}]\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  WorkloadSlice s;
  s.targets = w->targets;
  s.requests = w->requests;
  s.data = w->data;
  s.data[0].file.clear();
  s.seq_first = 3;
  s.seq_stride = 4;
  s.agent_name = "a1";
  v1::WorkloadSlice wire;
  to_wire(s, &wire);
  auto back = from_wire(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->data, s.data);
  EXPECT_EQ(back->seq_first, 3u);
  EXPECT_EQ(back->seq_stride, 4u);
  EXPECT_EQ(back->agent_name, "a1");
  // A peer's slice is checked like the file: a column that is not there,
  // offsets that do not add up, a value that does not fit the path.
  v1::WorkloadSlice bad = wire;
  bad.mutable_requests(0)->set_path("/u/{{users.email}}");
  EXPECT_FALSE(from_wire(bad).ok());
  bad = wire;
  bad.mutable_data(0)->set_ends(0, 1000);
  EXPECT_FALSE(from_wire(bad).ok());
  bad = wire;
  bad.mutable_data(0)->set_cells(" " + wire.data(0).cells().substr(1));  // id " "
  EXPECT_FALSE(from_wire(bad).ok());
  // HTTP/2 takes templates, checked the same way.
  bad = wire;
  bad.set_protocol("http2");
  EXPECT_TRUE(from_wire(bad).ok());
  bad.mutable_requests(0)->set_path("/u/{{users.email}}");
  EXPECT_FALSE(from_wire(bad).ok());
}

}  // namespace data_set_test
}  // namespace horde
