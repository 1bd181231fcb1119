#include "controller/agent_registry.h"

#include <algorithm>

#include "common/text.h"
#include "common/wire.h"

namespace horde {

void ClockOffsetEstimator::sent(uint64_t seq, int64_t sent_ns) {
  outstanding_[seq] = sent_ns;
  if (outstanding_.size() > 16) outstanding_.erase(outstanding_.begin());
}

bool ClockOffsetEstimator::received(uint64_t seq, int64_t agent_ns, int64_t received_ns) {
  auto it = outstanding_.find(seq);
  if (it == outstanding_.end()) return false;
  const int64_t sent_ns = it->second;
  outstanding_.erase(it);
  const int64_t rtt = received_ns - sent_ns;
  ++samples_;
  if (rtt >= 0 && rtt < best_rtt_ns_) {
    best_rtt_ns_ = rtt;
    offset_ns_ = agent_ns - (sent_ns + rtt / 2);
  }
  return true;
}

AgentRecord& AgentRegistry::session(uint64_t session, const std::string& peer) {
  auto it = agents_.find(session);
  if (it == agents_.end()) {
    auto a = std::make_unique<AgentRecord>();
    a->session = session;
    a->peer = peer;
    it = agents_.emplace(session, std::move(a)).first;
  }
  return *it->second;
}

AgentRecord* AgentRegistry::find(uint64_t session) {
  auto it = agents_.find(session);
  return it == agents_.end() ? nullptr : it->second.get();
}

HelloOutcome AgentRegistry::hello(AgentRecord& a, const std::string& name, const std::string& host,
                                  const std::string& version, uint32_t cores, uint32_t threads,
                                  bool run_started) {
  if (a.joined) return HelloOutcome::kSecondHello;
  if (name.empty() || name.size() > kMaxNameLength || cores == 0 || cores > 4096 ||
      threads > 4096) {
    return HelloOutcome::kBad;
  }
  for (const auto& [id, other] : agents_) {
    if (other.get() != &a && other->joined && !other->gone && other->name == name) {
      return HelloOutcome::kDuplicate;
    }
  }
  a.joined = true;
  a.name = name;
  a.host = text::truncate_utf8(host, kMaxNameLength);  // on a character boundary
  a.version = text::truncate_utf8(version, 32);
  a.cores = cores;
  a.threads = threads ? threads : cores;
  if (run_started || roster_.size() >= expect_) return HelloOutcome::kJoinedSpare;
  roster_.push_back(a.session);
  return HelloOutcome::kJoined;
}

void AgentRegistry::prune_roster() {
  std::erase_if(roster_, [&](uint64_t id) { return agents_.at(id)->gone; });
}

uint32_t AgentRegistry::ready_count() const {
  uint32_t ready = 0;
  for (uint64_t id : roster_) {
    const AgentRecord& a = *agents_.at(id);
    // Three round trips before the start: the offset comes from the shortest one.
    ready += !a.gone && a.clock.samples() >= 3 ? 1 : 0;
  }
  return ready;
}

uint32_t AgentRegistry::joined_count() const {
  uint32_t n = 0;
  for (const auto& [id, a] : agents_) n += a->joined && !a->gone ? 1 : 0;
  return n;
}

uint32_t AgentRegistry::lost_count() const {
  uint32_t n = 0;
  for (const auto& [id, a] : agents_) n += a->lost ? 1 : 0;
  return n;
}

uint32_t AgentRegistry::roster_lost_count() const {
  uint32_t n = 0;
  for (uint64_t id : roster_) n += agents_.at(id)->lost ? 1 : 0;
  return n;
}

std::vector<uint64_t> AgentRegistry::silent(const std::vector<uint64_t>& members,
                                            std::chrono::steady_clock::time_point now,
                                            std::chrono::steady_clock::time_point phase_start,
                                            std::chrono::steady_clock::duration limit) const {
  std::vector<uint64_t> out;
  if (now <= phase_start) return out;
  for (uint64_t id : members) {
    const AgentRecord& a = *agents_.at(id);
    if (!a.gone && !a.phase_done && now - std::max(a.last_heard, phase_start) > limit) {
      out.push_back(id);
    }
  }
  return out;
}

std::chrono::steady_clock::duration silence_limit(std::chrono::steady_clock::duration interval) {
  return std::max<std::chrono::steady_clock::duration>(2 * interval, std::chrono::seconds(1));
}

}  // namespace horde
