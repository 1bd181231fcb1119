// What the agent says to its controller, in the order it was said: interval
// reports (pushed by the load threads) and phase ends (the phase thread) from
// the phase runner, pongs from the session's reader. One writer thread, the
// session's, encodes each message and hands it to the ReportSender (the gRPC
// stream's Write), so a slow or full controller link holds up only that
// thread: never a load thread, never the reader that keeps the lease alive.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "common/event_queue.h"
#include "common/report.h"

namespace horde {

namespace v1 {
class AgentMessage;
}

// The session boundary: writes one message on the stream; false once it is broken.
using ReportSender = std::function<bool(const v1::AgentMessage&)>;

struct ReportOut {
  std::string run_id;
  IntervalReport report;
};

struct PhaseEnd {
  std::string run_id;
  uint32_t phase = 0;
  uint32_t intervals = 0;  // reports made for the phase
  Counters totals;
  std::string error;  // why the phase was refused; empty when it ran
};

struct PongOut {
  uint64_t seq = 0;
  int64_t agent_unix_ns = 0;
};

class Outbox {
 public:
  using Message = std::variant<ReportOut, PhaseEnd, PongOut>;

  // Starts the writer thread.
  explicit Outbox(ReportSender send);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // From any thread; never blocks on the link.
  void push(Message m);
  // Writes everything pushed before, then ends the writer thread. After a
  // failed write the rest is dropped (the stream is gone). Idempotent.
  void close();

 private:
  void run();

  ReportSender send_;
  EventQueue<std::optional<Message>> queue_;  // nullopt: close
  std::thread writer_;
  bool closed_ = false;  // close() was called (by the owner's thread only)
};

}  // namespace horde
