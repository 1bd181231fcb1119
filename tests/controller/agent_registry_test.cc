// Tests for the agent registry: hello checks, the roster and late joiners, the
// silence rule that drops an agent after two silent intervals, and the clock
// offset estimator (the shortest round trip wins; asymmetric paths bound the
// error by half the round trip) against offsets known by construction.
#include "controller/agent_registry.h"

#include <gtest/gtest.h>

namespace horde {
namespace agent_registry_test {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMs = 1'000'000;

AgentRecord& join(AgentRegistry& r, uint64_t session, const std::string& name, bool started = false,
                  HelloOutcome want = HelloOutcome::kJoined) {
  AgentRecord& a = r.session(session, "peer" + std::to_string(session));
  EXPECT_EQ(r.hello(a, name, "host", "v", 4, 2, started), want);
  return a;
}

TEST(AgentRegistry, HelloFillsTheRecordAndTheRosterInJoinOrder) {
  AgentRegistry r(2);
  AgentRecord& a = join(r, 7, "a");
  join(r, 3, "b");
  EXPECT_TRUE(a.joined);
  EXPECT_EQ(a.cores, 4u);
  EXPECT_EQ(a.threads, 2u);
  EXPECT_EQ(r.roster(), (std::vector<uint64_t>{7, 3}));
  EXPECT_EQ(r.joined_count(), 2u);
  // threads 0: as many threads as cores.
  AgentRegistry r2(1);
  AgentRecord& c = r2.session(1, "p");
  EXPECT_EQ(r2.hello(c, "c", "h", "v", 8, 0, false), HelloOutcome::kJoined);
  EXPECT_EQ(c.threads, 8u);
}

TEST(AgentRegistry, BadSecondAndDuplicateHellos) {
  AgentRegistry r(3);
  AgentRecord& a = join(r, 1, "a");
  EXPECT_EQ(r.hello(a, "a", "h", "v", 1, 1, false), HelloOutcome::kSecondHello);
  AgentRecord& b = r.session(2, "p");
  EXPECT_EQ(r.hello(b, "", "h", "v", 1, 1, false), HelloOutcome::kBad);
  EXPECT_EQ(r.hello(b, std::string(257, 'n'), "h", "v", 1, 1, false), HelloOutcome::kBad);
  EXPECT_EQ(r.hello(b, "b", "h", "v", 0, 1, false), HelloOutcome::kBad);
  EXPECT_EQ(r.hello(b, "b", "h", "v", 4097, 1, false), HelloOutcome::kBad);
  EXPECT_EQ(r.hello(b, "b", "h", "v", 1, 4097, false), HelloOutcome::kBad);
  EXPECT_FALSE(b.joined);
  EXPECT_EQ(r.hello(b, "a", "h", "v", 1, 1, false), HelloOutcome::kDuplicate);
  EXPECT_FALSE(b.joined);
  // Once the first "a" is gone its name is free again.
  a.gone = true;
  EXPECT_EQ(r.hello(b, "a", std::string(300, 'h'), std::string(40, 'v'), 1, 1, false),
            HelloOutcome::kJoined);
  EXPECT_EQ(b.host.size(), 256u);
  EXPECT_EQ(b.version.size(), 32u);
}

TEST(AgentRegistry, LateJoinerIsWelcomedButNotInTheRoster) {
  AgentRegistry r(2);
  join(r, 1, "a");
  join(r, 2, "b");
  // The roster is full: a third agent joins as a spare.
  AgentRecord& c = join(r, 3, "c", false, HelloOutcome::kJoinedSpare);
  EXPECT_TRUE(c.joined);
  // The run started: even with room in the roster, a newcomer is not used.
  AgentRegistry r2(3);
  join(r2, 1, "a");
  join(r2, 2, "b", true, HelloOutcome::kJoinedSpare);
  EXPECT_EQ(r.roster(), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(r2.roster(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(r.joined_count(), 3u);
}

TEST(AgentRegistry, ReadyNeedsThreeClockSamplesAndPruneForgetsEndedSessions) {
  AgentRegistry r(2);
  AgentRecord& a = join(r, 1, "a");
  AgentRecord& b = join(r, 2, "b");
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    a.clock.sent(seq, 0);
    ASSERT_TRUE(a.clock.received(seq, 0, 10));
  }
  EXPECT_EQ(r.ready_count(), 1u);
  b.gone = true;
  r.prune_roster();
  EXPECT_EQ(r.roster(), (std::vector<uint64_t>{1}));
}

TEST(AgentRegistry, DropsAnAgentAfterTwoSilentIntervals) {
  AgentRegistry r(2);
  AgentRecord& a = join(r, 1, "a");
  AgentRecord& b = join(r, 2, "b");
  const auto start = Clock::now();
  const auto interval = milliseconds(1000);
  const auto limit = silence_limit(interval);
  EXPECT_EQ(limit, milliseconds(2000));
  const std::vector<uint64_t> members = {1, 2};
  a.last_heard = start + milliseconds(500);
  b.last_heard = start + milliseconds(2400);
  // Before the start nothing is silent; then silence counts from the start.
  EXPECT_TRUE(r.silent(members, start - milliseconds(1), start, limit).empty());
  EXPECT_TRUE(r.silent(members, start + milliseconds(2000), start, limit).empty());
  // a: exactly two intervals silent is still fine, a moment more is not.
  EXPECT_TRUE(r.silent(members, a.last_heard + limit, start, limit).empty());
  EXPECT_EQ(r.silent(members, a.last_heard + limit + milliseconds(1), start, limit),
            (std::vector<uint64_t>{1}));
  EXPECT_EQ(r.silent(members, start + milliseconds(4401), start, limit),
            (std::vector<uint64_t>{1, 2}));
  // Done or gone agents are never silent.
  a.phase_done = true;
  b.gone = true;
  EXPECT_TRUE(r.silent(members, start + milliseconds(60'000), start, limit).empty());
  // An agent never heard from is judged from the phase start.
  AgentRecord& c = join(r, 3, "c", false, HelloOutcome::kJoinedSpare);
  (void)c;
  EXPECT_TRUE(r.silent({3}, start + limit, start, limit).empty());
  EXPECT_EQ(r.silent({3}, start + limit + milliseconds(1), start, limit),
            (std::vector<uint64_t>{3}));
  // Short intervals: never less than a second.
  EXPECT_EQ(silence_limit(milliseconds(100)), milliseconds(1000));
}

TEST(ClockOffsetEstimator, ShortestRoundTripWins) {
  // The agent's clock runs 250 ms ahead; paths are symmetric.
  const int64_t offset = 250 * kMs;
  ClockOffsetEstimator c;
  auto sample = [&](uint64_t seq, int64_t sent, int64_t one_way) {
    c.sent(seq, sent);
    return c.received(seq, sent + one_way + offset, sent + 2 * one_way);
  };
  ASSERT_TRUE(sample(1, 1000 * kMs, 20 * kMs));  // rtt 40 ms
  EXPECT_EQ(c.offset_ns(), offset);
  EXPECT_EQ(c.best_rtt_ns(), 40 * kMs);
  // A slower sample whose pong was stamped late: ignored, the faster one stays.
  c.sent(2, 2000 * kMs);
  ASSERT_TRUE(c.received(2, 2000 * kMs + 90 * kMs + offset, 2000 * kMs + 100 * kMs));
  EXPECT_EQ(c.offset_ns(), offset);
  EXPECT_EQ(c.best_rtt_ns(), 40 * kMs);
  // A faster one replaces it.
  ASSERT_TRUE(sample(3, 3000 * kMs, 1 * kMs));
  EXPECT_EQ(c.best_rtt_ns(), 2 * kMs);
  EXPECT_EQ(c.offset_ns(), offset);
  EXPECT_EQ(c.samples(), 3u);
  // Unknown, repeated or negative-rtt pongs change nothing.
  EXPECT_FALSE(c.received(3, 0, 0));
  EXPECT_FALSE(c.received(99, 0, 0));
  c.sent(4, 5000 * kMs);
  ASSERT_TRUE(c.received(4, 0, 4000 * kMs));  // received before sent: a clock jump
  EXPECT_EQ(c.best_rtt_ns(), 2 * kMs);
  EXPECT_EQ(c.offset_ns(), offset);
}

TEST(ClockOffsetEstimator, AsymmetricSamplesErrByHalfTheAsymmetry) {
  // Out 2 ms, back 10 ms: the estimate assumes the midpoint, so it is off by
  // (out - back) / 2 = -4 ms, within half the 12 ms round trip.
  const int64_t offset = -70 * kMs;
  ClockOffsetEstimator c;
  c.sent(1, 100 * kMs);
  ASSERT_TRUE(c.received(1, 100 * kMs + 2 * kMs + offset, 100 * kMs + 12 * kMs));
  EXPECT_EQ(c.offset_ns(), offset - 4 * kMs);
  EXPECT_LE(std::abs(c.offset_ns() - offset), c.best_rtt_ns() / 2);
  // A more symmetric and shorter sample (out 1 ms, back 1.5 ms) tightens it.
  c.sent(2, 200 * kMs);
  ASSERT_TRUE(c.received(2, 200 * kMs + 1 * kMs + offset, 200 * kMs + 2'500'000));
  EXPECT_EQ(c.best_rtt_ns(), 2'500'000);
  EXPECT_EQ(c.offset_ns(), offset - 250'000);
  EXPECT_LE(std::abs(c.offset_ns() - offset), c.best_rtt_ns() / 2);
}

TEST(ClockOffsetEstimator, KeepsOnlyTheLast16PingsOutstanding) {
  ClockOffsetEstimator c;
  for (uint64_t seq = 1; seq <= 20; ++seq) c.sent(seq, 0);
  EXPECT_FALSE(c.received(4, 0, 1));  // forgotten
  EXPECT_TRUE(c.received(5, 0, 1));
  EXPECT_TRUE(c.received(20, 0, 1));
}

}  // namespace agent_registry_test
}  // namespace horde
