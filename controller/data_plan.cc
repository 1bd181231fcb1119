#include "controller/data_plan.h"

#include "controller/plan.h"

namespace horde {

std::vector<std::pair<size_t, size_t>> row_slices(size_t rows,
                                                  const std::vector<uint32_t>& agent_threads) {
  // rows <= kMaxDataBytes (a row has at least one byte... or one end offset),
  // well within split_proportional's uint32_t.
  const auto parts = split_proportional(static_cast<uint32_t>(rows), agent_threads);
  std::vector<std::pair<size_t, size_t>> out;
  size_t at = 0;
  for (uint32_t part : parts) {
    out.emplace_back(at, at + part);
    at += part;
  }
  return out;
}

void plan_data(const std::vector<DataSet>& data, const std::vector<uint32_t>& agent_threads,
               uint32_t phase, std::vector<WorkloadSlice>* slices) {
  const size_t n = slices->size();
  for (size_t i = 0; i < n; ++i) {
    WorkloadSlice& s = (*slices)[i];
    s.seq_first = (uint64_t{phase} << kSeqPhaseShift) + i;
    s.seq_stride = n;
    s.data.clear();
  }
  for (const DataSet& d : data) {
    const auto ranges = row_slices(d.rows(), agent_threads);
    for (size_t i = 0; i < n; ++i) {
      DataSet mine;
      mine.name = d.name;
      mine.mode = d.mode;
      mine.columns = d.columns;
      mine.first_missing.assign(d.columns.size(), 0);
      if (d.mode == DataMode::kRandom) {
        mine.cells = d.cells;
        mine.ends = d.ends;
      } else {
        auto [from, to] = ranges[i];
        if (from == to && d.mode == DataMode::kCycle && d.rows() > 0) {
          from = i % d.rows();
          to = from + 1;
        }
        for (size_t r = from; r < to; ++r) mine.add_row(d, r);
      }
      (*slices)[i].data.push_back(std::move(mine));
    }
  }
}

}  // namespace horde
