// swarm: N fake agents in one process, for measuring the controller at scale
// (bench/controller-scale.sh). Each fake agent opens its own session with the
// real protocol (generated stub, gRPC callback API: one ClientBidiReactor per
// stream, so 1000 sessions need no 1000 threads), says Hello, answers every
// Ping, and on an Assignment sends one realistic Report per interval at the
// interval's end (about 200 non-empty histogram buckets, full counters) and
// then PhaseDone. It sends no HTTP traffic. At the end it prints one JSON
// object: what was sent (to check that every report was merged), the wire size
// of a report, and when each agent got its assignment and which start time.
//
//   swarm --controller 127.0.0.1:7400 --agents 1000 [--channels N] [--rps 1000]
//         [--buckets 200] [--timeout 600] [--out swarm.json]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "common/report.h"
#include "common/wire.h"
#include "horde/v1/session.grpc.pb.h"

namespace {

using horde::v1::AgentMessage;
using horde::v1::ControllerMessage;
using SystemClock = std::chrono::system_clock;

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string controller = "127.0.0.1:7400";
  int agents = 1000;
  int channels = 0;     // 0: one connection per agent, like real agents
  uint64_t rps = 1000;  // requests each fake agent claims per second
  int buckets = 200;
  int timeout_s = 600;
  std::string out;
};

// A report like a busy agent's: `buckets` non-empty buckets spread log-normally
// from ~300 us to ~40 ms, a status code, bytes, cpu and schedule lag.
horde::IntervalReport make_report(uint64_t requests, int buckets, uint32_t phase) {
  horde::IntervalReport r;
  r.phase = phase;
  r.counters.requests = requests;
  r.counters.status_codes[200] = requests;
  r.counters.bytes_sent = requests * 78;
  r.counters.bytes_received = requests * 211;
  r.counters.cpu_seconds = 0.21;
  r.counters.max_schedule_lag_us = 340;
  // Values at a ratio of 1.025 apart land in distinct buckets (3 significant
  // digits); counts follow a log-normal bell peaking near 1.5 ms, each bucket >= 1.
  const int n = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(buckets), requests));
  if (n == 0) return r;
  std::vector<double> w(static_cast<size_t>(n));
  double sum = 0;
  for (int k = 0; k < n; ++k) {
    const double x = (k - n / 3.0) / (n / 6.0);
    w[static_cast<size_t>(k)] = std::exp(-x * x / 2);
    sum += w[static_cast<size_t>(k)];
  }
  const uint64_t spread = requests - static_cast<uint64_t>(n);
  uint64_t used = 0;
  for (int k = 0; k < n; ++k) {
    if (k == n / 3) continue;  // the peak takes what is left, below
    const uint64_t c =
        1 + static_cast<uint64_t>(static_cast<double>(spread) * w[static_cast<size_t>(k)] / sum);
    r.latency.record_n(static_cast<int64_t>(300.0 * std::pow(1.025, k)), c);
    used += c;
  }
  r.latency.record_n(static_cast<int64_t>(300.0 * std::pow(1.025, n / 3)), requests - used);
  return r;
}

class FakeAgent;

// Sends every fake agent's reports at the end of each interval: one thread,
// a queue ordered by due time.
class Scheduler {
 public:
  struct Due {
    SystemClock::time_point at;
    FakeAgent* agent;
    uint32_t interval;  // UINT32_MAX: phase done
    bool operator>(const Due& o) const { return at > o.at; }
  };
  void add(Due d) {
    std::lock_guard lock(mu_);
    q_.push(d);
    cv_.notify_one();
  }
  void run(const std::atomic<bool>& stop);
  void wake() { cv_.notify_all(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> q_;
};

class FakeAgent : public grpc::ClientBidiReactor<AgentMessage, ControllerMessage> {
 public:
  FakeAgent(int index, const Options& o, Scheduler* sched, std::atomic<int>* done)
      : index_(index), opt_(o), sched_(sched), done_(done) {}

  void start(horde::v1::Controller::Stub* stub) {
    ctx_.set_wait_for_ready(true);  // the controller may still be starting
    stub->async()->Session(&ctx_, this);
    AgentMessage hello;
    auto* h = hello.mutable_hello();
    h->set_name("swarm-" + std::to_string(index_));
    h->set_host("swarm");
    h->set_cores(1);
    h->set_threads(1);
    h->set_version("swarm");
    send(std::move(hello));
    StartRead(&in_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (in_.has_ping()) {
      AgentMessage pong;
      pong.mutable_pong()->set_seq(in_.ping().seq());
      pong.mutable_pong()->set_agent_unix_ns(unix_ns());
      send(std::move(pong));
    } else if (in_.has_welcome()) {
      welcomed_ = true;
    } else if (in_.has_assignment()) {
      on_assignment(in_.assignment());
    } else if (in_.has_stop()) {
      stop_reason_ = in_.stop().reason();
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (ok && out_.front().has_report()) {
      // When gRPC took the report: how much of the publish delay is the swarm's own.
      const uint32_t i = out_.front().report().interval();
      if (i < sent_ns_.size()) sent_ns_[i] = unix_ns();
    }
    out_.pop_front();
    if (!ok) {
      write_failed_ = true;
      out_.clear();
    }
    if (!out_.empty()) {
      StartWrite(&out_.front());
    } else {
      writing_ = false;
    }
  }

  void OnDone(const grpc::Status& s) override {
    status_ = s;
    finished_ = true;
    done_->fetch_add(1);
  }

  // Called by the scheduler thread at the end of each interval.
  void due(uint32_t interval) {
    if (interval == UINT32_MAX) {
      AgentMessage m;
      auto* d = m.mutable_phase_done();
      d->set_run_id(run_id_);
      d->set_phase(phase_);
      d->set_intervals(intervals_);
      horde::Counters totals;
      for (uint32_t i = 0; i < intervals_; ++i) totals.add(report_.counters);
      horde::to_wire(totals, d->mutable_totals());
      send(std::move(m));
      return;
    }
    AgentMessage m;
    report_.interval = interval;
    horde::to_wire(report_, run_id_, m.mutable_report());
    report_bytes_ += m.report().ByteSizeLong();
    ++reports_sent_;
    if (interval >= warmup_intervals_) requests_measured_ += report_.counters.requests;
    send(std::move(m));
  }

  nlohmann::json summary() const {
    return {{"name", "swarm-" + std::to_string(index_)},
            {"welcomed", welcomed_.load()},
            {"assignment_received_unix_ns", assignment_at_ns_},
            {"start_unix_ns", start_ns_},
            {"reports", reports_sent_.load()},
            {"report_bytes", report_bytes_.load()},
            {"requests_measured", requests_measured_.load()},
            {"interval_ms", interval_ms_},
            {"stop_reason", stop_reason_},
            {"status", finished_ ? static_cast<int>(status_.error_code()) : -1},
            {"status_message", finished_ ? status_.error_message() : "not finished"},
            {"write_failed", write_failed_}};
  }
  // Per interval: when the report's write completed, in ns after the interval's end.
  std::vector<int64_t> sent_after_end_ns() {
    std::lock_guard lock(mu_);
    std::vector<int64_t> out;
    const uint64_t total = intervals_ * interval_ms_;
    for (uint32_t i = 0; i < sent_ns_.size(); ++i) {
      const int64_t end =
          start_ns_ +
          static_cast<int64_t>(std::min<uint64_t>((i + 1) * interval_ms_, total) * 1'000'000);
      out.push_back(sent_ns_[i] == 0 ? -1 : sent_ns_[i] - end);
    }
    return out;
  }
  void cancel() { ctx_.TryCancel(); }

 private:
  void send(AgentMessage m) {
    std::lock_guard lock(mu_);
    if (write_failed_) return;
    out_.push_back(std::move(m));  // deque: the element being written stays put
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void on_assignment(const horde::v1::Assignment& a) {
    assignment_at_ns_ = unix_ns();
    start_ns_ = a.start_unix_ns();
    run_id_ = a.run_id();
    phase_ = a.phase();
    const auto& s = a.slice();
    interval_ms_ = std::max<uint64_t>(s.interval_ms(), 100);
    const uint64_t total = s.warmup_ms() + s.duration_ms();
    intervals_ = static_cast<uint32_t>((total + interval_ms_ - 1) / interval_ms_);
    warmup_intervals_ = static_cast<uint32_t>(s.warmup_ms() / interval_ms_);
    report_ = make_report(opt_.rps * interval_ms_ / 1000, opt_.buckets, phase_);
    {
      std::lock_guard lock(mu_);
      sent_ns_.assign(intervals_, 0);
    }
    const auto start = SystemClock::time_point(
        std::chrono::duration_cast<SystemClock::duration>(std::chrono::nanoseconds(start_ns_)));
    for (uint32_t i = 0; i < intervals_; ++i) {
      const uint64_t end_ms = std::min<uint64_t>((i + 1) * interval_ms_, total);
      sched_->add({start + std::chrono::milliseconds(end_ms), this, i});
    }
    sched_->add({start + std::chrono::milliseconds(total) + std::chrono::milliseconds(5), this,
                 UINT32_MAX});
  }

  const int index_;
  const Options& opt_;
  Scheduler* sched_;
  std::atomic<int>* done_;
  grpc::ClientContext ctx_;
  ControllerMessage in_;
  std::mutex mu_;
  std::deque<AgentMessage> out_;
  bool writing_ = false;
  bool write_failed_ = false;
  std::vector<int64_t> sent_ns_;  // per interval: when its report was written (unix ns)
  std::atomic<bool> welcomed_{false};
  // Written by the reactor before the scheduler sees them (the queue's mutex orders them).
  std::string run_id_;
  uint32_t phase_ = 0;
  uint64_t interval_ms_ = 1000;
  uint32_t intervals_ = 0;
  uint32_t warmup_intervals_ = 0;
  horde::IntervalReport report_;
  int64_t assignment_at_ns_ = 0;
  int64_t start_ns_ = 0;
  std::string stop_reason_;
  std::atomic<uint64_t> reports_sent_{0};
  std::atomic<uint64_t> report_bytes_{0};
  std::atomic<uint64_t> requests_measured_{0};
  grpc::Status status_;
  std::atomic<bool> finished_{false};
};

void Scheduler::run(const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  while (!stop) {
    if (q_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    const Due d = q_.top();
    if (SystemClock::now() < d.at) {
      cv_.wait_until(lock, std::min(d.at, SystemClock::now() + std::chrono::milliseconds(100)));
      continue;
    }
    q_.pop();
    lock.unlock();
    d.agent->due(d.interval);
    lock.lock();
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: swarm [--controller HOST:PORT] [--agents N] [--channels K] [--rps R] "
               "[--buckets B] [--timeout SECONDS] [--out FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--controller") {
      o.controller = v;
    } else if (a == "--agents") {
      o.agents = std::atoi(v.c_str());
    } else if (a == "--channels") {
      o.channels = std::atoi(v.c_str());
    } else if (a == "--rps") {
      o.rps = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--buckets") {
      o.buckets = std::atoi(v.c_str());
    } else if (a == "--timeout") {
      o.timeout_s = std::atoi(v.c_str());
    } else if (a == "--out") {
      o.out = v;
    } else {
      return usage();
    }
  }
  if (o.agents < 1 || o.buckets < 1) return usage();
  const int channels = o.channels > 0 ? std::min(o.channels, o.agents) : o.agents;

  std::vector<std::shared_ptr<grpc::Channel>> chans;
  std::vector<std::unique_ptr<horde::v1::Controller::Stub>> stubs;
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(4 << 20);
    // Each fake agent its own TCP connection, as with real agents on many machines.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("horde.swarm.channel", c);
    chans.push_back(
        grpc::CreateCustomChannel(o.controller, grpc::InsecureChannelCredentials(), args));
    stubs.push_back(horde::v1::Controller::NewStub(chans.back()));
  }

  Scheduler sched;
  std::atomic<bool> stop{false};
  std::thread sched_thread([&] { sched.run(stop); });
  std::atomic<int> done{0};
  std::vector<std::unique_ptr<FakeAgent>> agents;
  const int64_t t0 = unix_ns();
  for (int i = 0; i < o.agents; ++i) {
    agents.push_back(std::make_unique<FakeAgent>(i, o, &sched, &done));
    agents.back()->start(stubs[static_cast<size_t>(i % channels)].get());
  }
  std::fprintf(stderr, "swarm: %d sessions opened to %s over %d connection(s)\n", o.agents,
               o.controller.c_str(), channels);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  while (done.load() < o.agents && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool timed_out = done.load() < o.agents;
  if (timed_out) {
    for (auto& a : agents) a->cancel();
    while (done.load() < o.agents) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  sched.wake();
  sched_thread.join();

  nlohmann::json out;
  nlohmann::json list = nlohmann::json::array();
  uint64_t requests = 0, reports = 0, bytes = 0;
  int64_t start_min = INT64_MAX, start_max = INT64_MIN, got_min = INT64_MAX, got_max = INT64_MIN;
  uint64_t interval_ms = 1000;
  int assigned = 0, complete = 0;
  std::vector<int64_t> last_sent;  // per interval: the last agent's report, ns after the end
  for (const auto& a : agents) {
    const auto sent = a->sent_after_end_ns();
    if (last_sent.size() < sent.size()) last_sent.resize(sent.size(), INT64_MIN);
    for (size_t i = 0; i < sent.size(); ++i) last_sent[i] = std::max(last_sent[i], sent[i]);
    const auto s = a->summary();
    requests += s["requests_measured"].get<uint64_t>();
    reports += s["reports"].get<uint64_t>();
    bytes += s["report_bytes"].get<uint64_t>();
    interval_ms = s["interval_ms"].get<uint64_t>();
    complete += s["stop_reason"] == "run complete" ? 1 : 0;
    const int64_t st = s["start_unix_ns"].get<int64_t>();
    if (st != 0) {
      ++assigned;
      start_min = std::min(start_min, st);
      start_max = std::max(start_max, st);
      const int64_t got = s["assignment_received_unix_ns"].get<int64_t>();
      got_min = std::min(got_min, got);
      got_max = std::max(got_max, got);
    }
    list.push_back(s);
  }
  out["agents"] = o.agents;
  out["connections"] = channels;
  out["assigned"] = assigned;
  out["run_complete"] = complete;
  out["timed_out"] = timed_out;
  out["requests_measured"] = requests;
  out["reports"] = reports;
  out["report_bytes"] = bytes;
  out["report_bytes_mean"] = reports ? static_cast<double>(bytes) / reports : 0;
  out["report_bytes_per_agent_per_s"] =
      reports ? static_cast<double>(bytes) / reports * 1000.0 / interval_ms : 0;
  out["start_unix_ns"] = assigned ? start_min : 0;
  out["start_spread_ms"] = assigned ? (start_max - start_min) / 1e6 : 0;
  out["assignment_spread_ms"] = assigned ? (got_max - got_min) / 1e6 : 0;
  out["assignment_lead_ms"] = assigned ? (start_min - got_max) / 1e6 : 0;  // margin left
  out["opened_unix_ns"] = t0;
  nlohmann::json sent_ms = nlohmann::json::array();
  for (int64_t ns : last_sent) sent_ms.push_back(static_cast<double>(ns) / 1e6);
  out["last_report_sent_after_end_ms"] = sent_ms;
  out["per_agent"] = list;
  if (!o.out.empty()) {
    std::ofstream(o.out) << out.dump(1) << "\n";
  }
  out.erase("per_agent");
  std::printf("%s\n", out.dump().c_str());
  return timed_out || complete < o.agents ? 1 : 0;
}
