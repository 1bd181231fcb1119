// The agents the controller knows: one record per session (who it is, whether
// it joined, is in the phase, finished it or was lost), the roster of agents
// taking part in the run, the hello checks, the clock offset of each agent
// estimated from ping round trips, and the silence rule that finds agents to
// drop. Plain logic on values and times given by the caller (no gRPC, no
// clock of its own), so joins, late joiners, offsets and drops are unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/report.h"
#include "controller/saturation.h"

namespace horde {

// Agent clock minus controller clock, from ping/pong samples: each sample's
// offset assumes the pong was stamped half way through the round trip, so its
// error is at most half the round trip; the sample with the shortest round trip
// is kept (NTP's rule), whatever order the samples come in.
class ClockOffsetEstimator {
 public:
  // A ping with `seq` left at `sent_ns` (controller clock). The last 16 are kept.
  void sent(uint64_t seq, int64_t sent_ns);
  // Its pong: stamped `agent_ns` by the agent, received at `received_ns`.
  // False for a seq not (or no longer) outstanding; the sample is then ignored.
  bool received(uint64_t seq, int64_t agent_ns, int64_t received_ns);

  int64_t offset_ns() const { return offset_ns_; }
  int64_t best_rtt_ns() const { return best_rtt_ns_; }
  uint32_t samples() const { return samples_; }  // pongs matched to a ping

 private:
  std::map<uint64_t, int64_t> outstanding_;  // seq -> sent at
  int64_t offset_ns_ = 0;
  int64_t best_rtt_ns_ = INT64_MAX;
  uint32_t samples_ = 0;
};

struct AgentRecord {
  uint64_t session = 0;
  std::string peer;
  std::string name, host, version;
  uint32_t cores = 0;
  uint32_t threads = 0;
  bool joined = false;
  bool gone = false;  // its session ended (or is being ended)
  bool lost = false;  // failed a phase it was in (dropped, silent, refused)
  std::string lost_reason;
  bool in_phase = false;
  bool phase_done = false;
  ClockOffsetEstimator clock;
  Counters measured;  // over every phase it took part in
  std::chrono::steady_clock::time_point last_heard{};
  int64_t last_interval = -1;  // last interval it reported in the current phase
  SaturationWarned warned;     // saturation warnings already given
};

// What a hello leads to.
enum class HelloOutcome {
  kJoined,       // welcome it; in the roster
  kJoinedSpare,  // welcome it, but the run started or the roster is full: not used
  kBad,          // name length, cores or threads out of range: drop
  kSecondHello,  // a second hello on one session: drop
  kDuplicate,    // another joined agent has its name: refuse
};

class AgentRegistry {
 public:
  explicit AgentRegistry(uint32_t expect_agents) : expect_(expect_agents) {}

  // The record of a session, created on its first event.
  AgentRecord& session(uint64_t session, const std::string& peer);
  AgentRecord* find(uint64_t session);
  AgentRecord& at(uint64_t session) { return *agents_.at(session); }
  const AgentRecord& at(uint64_t session) const { return *agents_.at(session); }

  // Checks a hello and, when it joins, fills the record and (before the run
  // starts, while the roster has room) adds it to the roster.
  HelloOutcome hello(AgentRecord& a, const std::string& name, const std::string& host,
                     const std::string& version, uint32_t cores, uint32_t threads,
                     bool run_started);

  // Agents taking part, in join order.
  const std::vector<uint64_t>& roster() const { return roster_; }
  // Before the start: forgets roster entries whose session ended.
  void prune_roster();
  // Roster agents ready to start: session alive and three clock samples in.
  uint32_t ready_count() const;
  uint32_t joined_count() const;  // joined, session alive
  uint32_t lost_count() const;    // every agent ever lost
  uint32_t roster_lost_count() const;

  // Members of a running phase to drop for silence: not gone, not done, and
  // nothing heard for `limit` (counted from the phase start at the earliest).
  std::vector<uint64_t> silent(const std::vector<uint64_t>& members,
                               std::chrono::steady_clock::time_point now,
                               std::chrono::steady_clock::time_point phase_start,
                               std::chrono::steady_clock::duration limit) const;

  template <class F>
  void for_each(F&& f) {
    for (auto& [id, a] : agents_) f(*a);
  }

 private:
  uint32_t expect_;
  std::map<uint64_t, std::unique_ptr<AgentRecord>> agents_;  // by session id
  std::vector<uint64_t> roster_;
};

// How long an agent in a phase may be silent before it is dropped: two
// intervals, and never less than a second.
std::chrono::steady_clock::duration silence_limit(std::chrono::steady_clock::duration interval);

}  // namespace horde
