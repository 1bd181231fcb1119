#include "controller/sweep_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/load_validate.h"
#include "controller/reachability.h"

namespace horde {

namespace {

double p99_ms(const PhaseResult& r) {
  return static_cast<double>(r.latency.value_at_percentile(99)) / 1000.0;
}

// Every request ended in an error and none got any response: the target is
// down (or unreachable), which says nothing about its capacity.
bool unanswered(const PhaseResult& r) {
  return r.counters.requests > 0 && r.counters.errors > 0 && responses(r.counters) == 0;
}

double achieved(const PhaseResult& r) {
  return r.duration_s > 0 ? static_cast<double>(r.counters.requests) / r.duration_s : 0.0;
}

// The throughput of each measured interval of a phase.
std::vector<double> interval_rps(const PhaseResult& r) {
  std::vector<double> out;
  for (const auto& row : r.intervals) {
    if (row.warmup || row.duration_s <= 0) continue;
    out.push_back(static_cast<double>(row.counters.requests) / row.duration_s);
  }
  return out;
}

}  // namespace

SweepPlanner::SweepPlanner(Workload base, uint32_t roster)
    : base_(std::move(base)), roster_(std::max<uint32_t>(roster, 1)) {
  const Sweep& s = base_.sweep;
  if (!s.agents.empty()) {
    for (uint32_t n : s.agents) groups_.push_back({std::min(n, roster_), 0, 0});
  } else if (!s.instances.empty()) {
    for (uint32_t k : s.instances) groups_.push_back({roster_, k, 0});
  } else if (!s.rates.empty()) {
    for (double r : s.rates) groups_.push_back({roster_, 0, r});
  } else {
    groups_.push_back({roster_, 0, 0});
  }
}

uint32_t SweepPlanner::agents_needed(const Workload& w, uint32_t default_agents) {
  if (w.sweep.agents.empty()) return default_agents;
  return std::max(default_agents, *std::max_element(w.sweep.agents.begin(), w.sweep.agents.end()));
}

PhaseSpec SweepPlanner::spec_for(const Group& g, std::optional<double> rate) const {
  PhaseSpec p;
  p.workload = base_;
  p.agents = g.agents;
  p.instances = g.instances;
  LoadSpec& load = p.workload.load;
  std::vector<std::string> parts;
  if (!base_.sweep.agents.empty()) {
    // An agents sweep keeps the per-agent load: the file's load is per agent.
    load.connections = base_.load.connections * g.agents;
    load.rate = base_.load.rate * g.agents;
    load.max_connections = base_.load.max_connections * g.agents;
    for (Stage& st : load.stages) {
      st.rate *= g.agents;
      st.connections *= g.agents;
    }
    parts.push_back(fmt::format("agents {}", g.agents));
  }
  if (g.instances > 0) {
    parts.push_back(fmt::format("instances {}", g.instances));
    if (base_.sweep.scale_command.empty()) {
      p.workload.targets.resize(std::min<size_t>(g.instances, base_.targets.size()));
    }
  }
  if (g.rate > 0) rate = g.rate;
  if (rate) {
    // A swept or searched rate is held constant: it replaces any ramp. A closed
    // pool becomes the open loop's bound (it connects on demand).
    make_open_loop(&load);
    load.rate = *rate;
    load.stages.clear();
    parts.push_back(fmt::format("{:.0f} rps", *rate));
  }
  if (base_.capacity) load.duration = base_.capacity->hold;
  if (parts.empty()) parts.push_back("run");
  for (size_t i = 0; i < parts.size(); ++i) p.name += (i ? " @ " : "") + parts[i];
  return p;
}

bool SweepPlanner::step_ok(const PhaseResult& r) const {
  const CapacitySearch& c = *base_.capacity;
  if (r.counters.requests == 0) return false;
  if (r.offered_rps && achieved(r) < c.min_achieved * *r.offered_rps) return false;
  for (const auto& t : evaluate(c.slo, r)) {
    if (!t.passed) return false;
  }
  return true;
}

void SweepPlanner::finish_group(const std::vector<PhaseResult>& done) {
  const Group& g = groups_[group_];
  if (g.agents > 0 && (!base_.sweep.agents.empty() || !base_.sweep.instances.empty())) {
    ScalabilityPoint pt;
    pt.n = !base_.sweep.agents.empty() ? g.agents : g.instances;
    const PhaseResult* measured = nullptr;
    if (base_.capacity) {
      if (good_phase_ >= 0) {
        measured = &done[static_cast<size_t>(good_phase_)];
        pt.phase = good_phase_;
      }
    } else if (!done.empty()) {
      measured = &done.back();
      pt.phase = static_cast<int64_t>(done.size() - 1);
    }
    if (measured) {
      pt.capacity_rps = achieved(*measured);
      pt.p99_ms = p99_ms(*measured);
      pt.interval_rps = interval_rps(*measured);
    }
    // A search's capacity may lie anywhere below the lowest rate that failed.
    pt.capacity_ci =
        capacity_interval(pt.capacity_rps, pt.interval_rps,
                          base_.capacity && bad_ >= 0 ? std::optional<double>(bad_) : std::nullopt);
    // Is the point about g.instances instances? Only if that many answered,
    // evenly. (A phase without per-backend counts, from an older agent, says nothing.)
    if (!base_.sweep.instances.empty() && pt.phase >= 0 &&
        !done[static_cast<size_t>(pt.phase)].backends.empty()) {
      const PhaseResult& r = done[static_cast<size_t>(pt.phase)];
      const Spread s = spread_of(r.backends);
      pt.backends = static_cast<uint32_t>(s.backends);
      pt.imbalance = s.imbalance;
      const uint64_t total = r.backends.requests();
      for (const auto& [id, b] : r.backends.by_id) {
        if (b.requests > 0) pt.shares.push_back(static_cast<double>(b.requests) / total);
      }
      std::sort(pt.shares.begin(), pt.shares.end(), std::greater<>());
      pt.spread_ok = s.backends >= g.instances && s.imbalance <= base_.spread.spread_warning;
    }
    points_.push_back(pt);
  }
  if (base_.capacity) {
    CapacityResult s;
    if (g.instances) s.instances = g.instances;
    s.agents = g.agents;
    s.steps = steps_;
    if (good_ >= 0) s.highest_good_rate = good_;
    if (bad_ >= 0) s.lowest_bad_rate = bad_;
    if (good_phase_ >= 0) {
      const auto& r = done[static_cast<size_t>(good_phase_)];
      s.capacity_rps = achieved(r);
      s.p99_ms = p99_ms(r);
      s.phase = good_phase_;
    }
    s.unanswered_rate = unanswered_;
    searches_.push_back(s);
  }
  ++group_;
  issued_ = false;
  group_started_ = false;
  good_ = bad_ = -1;
  good_phase_ = -1;
  unanswered_.reset();
  steps_ = 0;
}

std::optional<PhaseSpec> SweepPlanner::next(const std::vector<PhaseResult>& done) {
  while (group_ < groups_.size()) {
    const Group& g = groups_[group_];
    if (!base_.capacity) {
      if (issued_) {
        finish_group(done);
        continue;
      }
      issued_ = true;
      PhaseSpec p = spec_for(g, std::nullopt);
      p.new_instances = true;
      return p;
    }
    const CapacitySearch& c = *base_.capacity;
    double next_rate = c.start_rate;
    if (issued_) {
      const PhaseResult& last = done.back();
      if (unanswered(last)) {  // bisecting toward 0 would only repeat it
        unanswered_ = rate_;
        bad_ = bad_ < 0 ? rate_ : std::min(bad_, rate_);
        finish_group(done);
        continue;
      }
      if (step_ok(last)) {
        good_ = rate_;
        good_phase_ = static_cast<int64_t>(done.size() - 1);
      } else {
        bad_ = bad_ < 0 ? rate_ : std::min(bad_, rate_);
      }
      if (bad_ < 0) {  // still stepping up
        next_rate = c.step > 0 ? rate_ + c.step : rate_ * c.factor;
        if (rate_ >= c.max_rate) {
          finish_group(done);
          continue;
        }
        next_rate = std::min(next_rate, c.max_rate);
      } else {  // bisect between the last good (or 0) and the first bad rate
        const double low = std::max(good_, 0.0);
        if (bad_ - low <= c.precision * std::max(low, 1.0) || steps_ >= c.max_steps ||
            bad_ - low < 1.0) {
          finish_group(done);
          continue;
        }
        next_rate = std::round((low + bad_) / 2.0);
        if (next_rate <= low || next_rate >= bad_) {
          finish_group(done);
          continue;
        }
      }
    }
    if (steps_ >= c.max_steps) {
      finish_group(done);
      continue;
    }
    PhaseSpec p = spec_for(g, next_rate);
    p.new_instances = !group_started_;
    group_started_ = true;
    issued_ = true;
    rate_ = next_rate;
    ++steps_;
    return p;
  }
  return std::nullopt;
}

std::optional<Scalability> SweepPlanner::scalability() const {
  if (points_.empty()) return std::nullopt;
  std::vector<CapacitySample> samples;
  for (const auto& p : points_) {
    samples.push_back({static_cast<double>(p.n), p.capacity_rps, p.interval_rps, p.capacity_ci});
  }
  const ScalingAnalysis analysis = analyse_scaling(std::move(samples));
  Scalability s;
  if (analysis.shape) s.shape = shape_name(analysis.shape->shape);
  s.usl = analysis.shown_fit();
  s.choice = analysis.choice;
  s.kind = base_.sweep.agents.empty() ? "instances" : "agents";
  const auto verdict = judge_scalability(analysis, base_.sweep.min_efficiency, s.kind);
  s.points = points_;
  for (size_t i = 0; i < s.points.size(); ++i) {
    s.points[i].efficiency = i < verdict.efficiency.size() ? verdict.efficiency[i] : 0.0;
  }
  s.min_efficiency = base_.sweep.min_efficiency;
  s.verdict = verdict.text;
  s.passed = verdict.passed;
  // A verdict about N instances holds only if the load reached N instances.
  std::vector<std::string> uneven;
  for (const auto& p : s.points) {
    if (p.spread_ok || !p.backends) continue;
    std::string shares;
    for (const double x : p.shares) {
      shares += fmt::format("{}{:.0f}%", shares.empty() ? "" : " / ", 100 * x);
    }
    uneven.push_back(
        *p.backends < p.n
            ? fmt::format("at {} instances only {} backend{} answered ({})", p.n, *p.backends,
                          *p.backends == 1 ? "" : "s", shares)
            : fmt::format("at {} instances the load was uneven ({}; imbalance {:.2f} > {:.2f})",
                          p.n, shares, p.imbalance, base_.spread.spread_warning));
  }
  if (!uneven.empty()) {
    std::string said;
    for (const auto& u : uneven) said += (said.empty() ? "" : "; ") + u;
    s.verdict += fmt::format(
        " But {}: the balancer, not the service, may be what limits the result (see "
        "docs/scalability.md, \"Is the load reaching every instance?\"){}.",
        said, base_.sweep.require_even_spread ? "" : "; sweep.require_even_spread is false");
    if (base_.sweep.require_even_spread) s.passed = false;
  }
  return s;
}

nlohmann::json SweepPlanner::scalability_json() const {
  const auto s = scalability();
  return s ? s->to_json() : nlohmann::json();
}

nlohmann::json SweepPlanner::capacity_json() const { return to_json(searches_); }

bool SweepPlanner::passed() const {
  const auto s = scalability();
  return !s || s->passed;
}

}  // namespace horde
