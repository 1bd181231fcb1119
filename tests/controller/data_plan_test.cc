// Data across agents (controller/data_plan.h) rendered by the agents' own
// templates (agent/request_template.h): cycle slices are disjoint and cover
// every row, unique never repeats a row over agents and threads, random stays
// in range, and {{seq}} is unique over agents, threads and phases.
#include "controller/data_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "agent/request_template.h"

namespace horde {
namespace data_plan_test {

DataSet numbers(size_t rows, DataMode mode) {
  DataSet d;
  d.name = "d";
  d.mode = mode;
  d.columns = {"id"};
  d.first_missing = {0};
  DataSet one = d;
  for (size_t r = 0; r < rows; ++r) {
    one.cells = std::to_string(r);
    one.ends = {static_cast<uint32_t>(one.cells.size())};
    d.add_row(one, 0);
  }
  return d;
}

std::vector<WorkloadSlice> plan(const std::vector<DataSet>& data,
                                const std::vector<uint32_t>& threads, uint32_t phase = 0) {
  std::vector<WorkloadSlice> slices(threads.size());
  for (auto& s : slices) {
    s.targets = {parse_url("http://127.0.0.1:9/").value()};
    RequestSpec r;
    r.path = "/{{d.id}}/{{seq}}";
    s.requests = {r};
  }
  plan_data(data, threads, phase, &slices);
  return slices;
}

// Renders `count` requests on each thread of each agent, round robin, and
// returns the paths; `stopped` counts renders refused (unique used up).
std::vector<std::string> render_all(const std::vector<WorkloadSlice>& slices,
                                    const std::vector<uint32_t>& threads, size_t count,
                                    size_t* stopped = nullptr) {
  std::vector<std::string> paths;
  for (size_t a = 0; a < slices.size(); ++a) {
    TemplateData data(slices[a]);
    RequestTemplate t(slices[a].targets[0], slices[a].requests[0], data);
    std::vector<RenderState> states;
    for (unsigned i = 0; i < threads[a]; ++i) states.emplace_back(data, i, threads[a], 7 + i);
    std::string out;
    for (size_t k = 0; k < count; ++k) {
      for (auto& st : states) {
        if (!t.render(st, out)) {
          if (stopped != nullptr) ++*stopped;
          continue;
        }
        paths.push_back(out.substr(4, out.find(' ', 4) - 4));  // "GET /id/seq HTTP/1.1"
      }
    }
  }
  return paths;
}

std::string id_of(const std::string& path) { return path.substr(1, path.find('/', 1) - 1); }
std::string seq_of(const std::string& path) { return path.substr(path.find('/', 1) + 1); }

TEST(DataPlan, RowSlicesAreDisjointAndCoverEveryRow) {
  for (const std::vector<uint32_t>& threads :
       {std::vector<uint32_t>{1}, {1, 1}, {2, 1, 3}, {8, 8, 8, 8, 8, 8, 8}}) {
    for (size_t rows : {1u, 7u, 1000u}) {
      const auto s = row_slices(rows, threads);
      ASSERT_EQ(s.size(), threads.size());
      size_t at = 0;
      for (const auto& [from, to] : s) {
        EXPECT_EQ(from, at);
        EXPECT_LE(from, to);
        at = to;
      }
      EXPECT_EQ(at, rows);
    }
  }
  // In proportion to the threads, like the load.
  EXPECT_EQ(row_slices(1000, {3, 1}),
            (std::vector<std::pair<size_t, size_t>>{{0, 750}, {750, 1000}}));
}

TEST(DataPlan, CycleCoversEveryRowOnceBeforeRepeating) {
  const std::vector<uint32_t> threads = {2, 3, 1};
  const auto slices = plan({numbers(1000, DataMode::kCycle)}, threads);
  size_t rows = 0;
  for (const auto& s : slices) rows += s.data[0].rows();
  EXPECT_EQ(rows, 1000u);
  // 1000 rows over 6 threads: 167 rounds render every row at least once.
  const auto paths = render_all(slices, threads, 167);
  std::set<std::string> ids;
  for (const auto& p : paths) ids.insert(id_of(p));
  EXPECT_EQ(ids.size(), 1000u);
  // Agents' slices are disjoint: the ids of agent 0 are rows 0..332 only.
  for (size_t r = 0; r < slices[0].data[0].rows(); ++r) {
    EXPECT_EQ(slices[0].data[0].cell(r, 0), std::to_string(r));
  }
  // Fewer rows than agents: each agent gets one row, all rows are used.
  const auto few = plan({numbers(2, DataMode::kCycle)}, {1, 1, 1});
  EXPECT_EQ(few[0].data[0].cell(0, 0), "0");
  EXPECT_EQ(few[1].data[0].cell(0, 0), "1");
  EXPECT_EQ(few[2].data[0].cell(0, 0), "0");
}

TEST(DataPlan, UniqueNeverRepeatsAndStopsWhenUsedUp) {
  const std::vector<uint32_t> threads = {2, 2};
  const auto slices = plan({numbers(1000, DataMode::kUnique)}, threads);
  size_t stopped = 0;
  const auto paths = render_all(slices, threads, 400, &stopped);  // 1600 asked for
  std::set<std::string> ids;
  for (const auto& p : paths) EXPECT_TRUE(ids.insert(id_of(p)).second) << p;
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(stopped, 600u);
  // Fewer rows than agents: an agent with none stops at once.
  const auto few = plan({numbers(1, DataMode::kUnique)}, {1, 1});
  EXPECT_EQ(few[0].data[0].rows(), 1u);
  EXPECT_EQ(few[1].data[0].rows(), 0u);
}

TEST(DataPlan, RandomStaysInRangeAndReachesEveryRow) {
  const std::vector<uint32_t> threads = {1, 2};
  const auto slices = plan({numbers(10, DataMode::kRandom)}, threads);
  for (const auto& s : slices) EXPECT_EQ(s.data[0].rows(), 10u);
  std::set<std::string> ids;
  for (const auto& p : render_all(slices, threads, 300)) ids.insert(id_of(p));
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(*ids.begin(), "0");
  EXPECT_EQ(*ids.rbegin(), "9");
}

TEST(DataPlan, SeqIsUniqueOverAgentsThreadsAndPhases) {
  std::set<uint64_t> seen;
  for (uint32_t phase : {0u, 1u}) {
    const std::vector<uint32_t> threads = {3, 1, 4};
    const auto slices = plan({numbers(5, DataMode::kCycle)}, threads, phase);
    for (const auto& p : render_all(slices, threads, 500)) {
      EXPECT_TRUE(seen.insert(std::stoull(seq_of(p))).second) << p;
    }
  }
  EXPECT_EQ(seen.size(), 2u * 8 * 500);
  // Phase 0 numbers from 0, phase 1 from 2^40.
  EXPECT_EQ(*seen.begin(), 0u);
  EXPECT_EQ(*seen.lower_bound(uint64_t{1} << kSeqPhaseShift), uint64_t{1} << kSeqPhaseShift);
}

}  // namespace data_plan_test
}  // namespace horde
