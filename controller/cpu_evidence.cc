#include "controller/cpu_evidence.h"

#include <fmt/format.h>

#include <algorithm>

#include "controller/scaling_evidence.h"

namespace horde {

namespace {

struct Step {
  uint32_t n = 0;
  double capacity = 0;
  Interval judged;
  std::optional<double> busy;
};

std::string cores_text(double v) { return fmt::format("{:.2f}", v); }

std::string instances_text(uint32_t n) {
  return fmt::format("{} instance{}", n, n == 1 ? "" : "s");
}

// The steps in n order, each with the named source's mean (null where it had no value).
std::vector<Step> steps_of(const Scalability& s, const std::string& source) {
  std::vector<Step> out;
  for (const ScalabilityPoint& p : s.points) {
    Step st{p.n, p.capacity_rps,
            judged_interval({static_cast<double>(p.n), p.capacity_rps, {}, p.capacity_ci}),
            std::nullopt};
    for (const ObservedStat& o : p.observed) {
      if (o.name == source) st.busy = o.mean;
    }
    out.push_back(st);
  }
  std::stable_sort(out.begin(), out.end(), [](const Step& a, const Step& b) { return a.n < b.n; });
  return out;
}

// The first step the capacity reaches its peak at, within noise: its judged interval
// reaches the peak's.
size_t knee_of(const std::vector<Step>& steps) {
  size_t peak = 0;
  for (size_t i = 1; i < steps.size(); ++i) {
    if (steps[i].capacity > steps[peak].capacity) peak = i;
  }
  for (size_t i = 0; i < peak; ++i) {
    if (steps[i].judged.high >= steps[peak].judged.low) return i;
  }
  return peak;
}

// The first step at or after i with a value.
std::optional<size_t> valued_from(const std::vector<Step>& steps, size_t i) {
  for (; i < steps.size(); ++i) {
    if (steps[i].busy) return i;
  }
  return std::nullopt;
}

}  // namespace

const char* cpu_bound_name(CpuBound b) {
  switch (b) {
    case CpuBound::kCpu:
      return "cpu";
    case CpuBound::kNotCpu:
      return "not_cpu";
    case CpuBound::kFlat:
      return "flat";
    case CpuBound::kOverhead:
      return "overhead";
    case CpuBound::kFullAtEnd:
      return "full_at_end";
    case CpuBound::kRoom:
      return "room";
    case CpuBound::kUndetermined:
      return "undetermined";
  }
  return "undetermined";
}

nlohmann::json CpuFinding::to_json() const {
  const auto or_null = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return {{"bound", cpu_bound_name(bound)},
          {"source", source},
          {"busy_cores", or_null(busy)},
          {"busy_cores_max", or_null(busy_max)},
          {"cores_available", or_null(cores_available)},
          {"from_instances", from_n == 0 ? nlohmann::json() : nlohmann::json(from_n)}};
}

std::optional<CpuFinding> cpu_evidence(const Scalability& s,
                                       std::optional<double> cores_available) {
  if (s.kind != "instances") return std::nullopt;
  CpuFinding f;
  f.cores_available = cores_available;
  for (const ScalabilityPoint& p : s.points) {
    for (const ObservedStat& o : p.observed) {
      if (f.source.empty() && o.unit == ObserveUnit::kCores) f.source = o.name;
    }
  }
  if (f.source.empty()) return std::nullopt;
  const std::vector<Step> steps = steps_of(s, f.source);
  size_t valued = 0;
  for (const Step& st : steps) {
    if (!st.busy) continue;
    ++valued;
    f.busy_max = std::max(f.busy_max.value_or(*st.busy), *st.busy);
  }
  if (valued < 2) {
    f.text = fmt::format(
        "The CPU source {} has a value at {} of the {} steps, too few to say what limits "
        "scaling.",
        f.source, valued, steps.size());
    return f;
  }
  const double last_efficiency = s.points.empty() ? 0 : [&] {
    const auto it = std::max_element(
        s.points.begin(), s.points.end(),
        [](const ScalabilityPoint& a, const ScalabilityPoint& b) { return a.n < b.n; });
    return it->efficiency;
  }();
  const bool stopped =
      s.shape &&
      (*s.shape == shape_name(Shape::kPlateau) || *s.shape == shape_name(Shape::kRetrograde) ||
       (*s.shape == shape_name(Shape::kSublinear) && last_efficiency < s.min_efficiency));
  const std::optional<size_t> last = [&]() -> std::optional<size_t> {
    for (size_t i = steps.size(); i-- > 0;) {
      if (steps[i].busy) return i;
    }
    return std::nullopt;
  }();
  if (!stopped) {
    const Step& end = steps[*last];
    f.from_n = end.n;
    f.busy = end.busy;
    if (cores_available && *end.busy >= kCpuFullFraction * *cores_available) {
      f.bound = CpuBound::kFullAtEnd;
      f.text = fmt::format(
          "The CPU is full at {} ({} of {:g} cores busy): on this machine more instances will "
          "not add throughput.",
          instances_text(end.n), cores_text(*end.busy), *cores_available);
    } else {
      f.bound = CpuBound::kRoom;
      if (cores_available) {
        f.text = fmt::format("The CPU had room: at most {} of {:g} cores busy.",
                             cores_text(*f.busy_max), *cores_available);
      }
    }
    return f;
  }
  const size_t knee = knee_of(steps);
  const std::optional<size_t> at = valued_from(steps, knee);
  if (!at) {
    f.text = fmt::format(
        "The CPU source {} has no value from {} on, where the capacity stops growing, so it "
        "cannot say what limits scaling.",
        f.source, instances_text(steps[knee].n));
    return f;
  }
  const Step& k = steps[*at];
  f.from_n = k.n;
  f.busy = k.busy;
  if (cores_available) {
    const double c = *cores_available;
    if (*k.busy >= kCpuFullFraction * c) {
      f.bound = CpuBound::kCpu;
      f.text = fmt::format(
          "Limited by CPU: {} of {:g} cores busy from {} on; the machine, not the code, is the "
          "limit.",
          cores_text(*k.busy), c, instances_text(k.n));
    } else {
      f.bound = CpuBound::kNotCpu;
      f.text = fmt::format(
          "CPU is not the limit ({:.0f}% busy: {} of {:g} cores at {}): look for a shared "
          "resource, the balancer or the database.",
          100 * *k.busy / c, cores_text(*k.busy), c, instances_text(k.n));
    }
    return f;
  }
  const Step& end = steps[*last];
  if (end.n == k.n) {
    f.bound = CpuBound::kRoom;
    return f;
  }
  const double growth = *k.busy > 0 ? (*end.busy - *k.busy) / *k.busy : 0;
  if (growth < kCpuFlatGrowth) {
    f.bound = CpuBound::kFlat;
    f.text = fmt::format(
        "The CPU stopped growing with the capacity: {} cores busy from {} on. If that is all "
        "the cores the instances have, the CPU is the limit; give sweep.cores_available to have "
        "it judged.",
        cores_text(*k.busy), instances_text(k.n));
  } else {
    f.bound = CpuBound::kOverhead;
    f.text = fmt::format(
        "The CPU kept growing ({} to {} cores from {} to {}) while the capacity did not: the "
        "added instances spend it on something other than requests (contention, coordination, "
        "retries).",
        cores_text(*k.busy), cores_text(*end.busy), instances_text(k.n), instances_text(end.n));
  }
  return f;
}

}  // namespace horde
