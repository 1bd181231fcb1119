// The built-in sample service behind `horde target`: K instances, each a pool of W workers that
// hold a request for a set service time, so its capacity is known in advance (K x W /
// service_time requests/s) and a sweep over instances has a truth to be checked against. Service
// time is simulated with timers, never by burning CPU, so the capacity does not depend on the
// machine. What the instances share (scaling_model.h) bends the scaling: contention by a formula
// that follows Amdahl's law with sigma = contention, the lock and crosstalk by real mechanisms (one
// FIFO lock; one channel carrying updates to every other active instance). Each instance listens
// on its own port;
// `GET /__stats` on any of them answers at once with the settings and the per-instance counters.
// TargetServer is the embeddable server (tests, `horde run` demos); run_target is the body of the
// `horde target` subcommand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace horde {

struct TargetOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // instance i listens on port + i; 0 = an ephemeral port for each
  uint32_t instances = 1;
  uint32_t workers = 16;
  std::chrono::microseconds service_time{5000};  // 0 = answer at once, no worker is held
  unsigned threads = 1;
  // The formula: fraction of each request's service time spent on a resource shared by all
  // instances round-robin, [0, 1); follows Amdahl with sigma = contention. See scaling_model.h.
  double contention = 0;
  // The channel: each request sends one update to every other active instance over one FIFO
  // channel, each holding it for crosstalk x service time, [0, 1].
  double crosstalk = 0;
  // The lock: each request holds one FIFO lock shared by all instances for this fraction of its
  // service time, [0, 1].
  double lock = 0;
};

// Checks the options a user gave; the error names the field and what is expected.
Result<TargetOptions> ValidateTargetOptions(const TargetOptions& options);

class TargetServer {
 public:
  explicit TargetServer(TargetOptions options);
  ~TargetServer();  // stops
  TargetServer(const TargetServer&) = delete;
  TargetServer& operator=(const TargetServer&) = delete;

  // Binds and listens on every instance, then starts the serving threads. Returns the port of
  // each instance, or an error naming the address that could not be used. Call once.
  Result<std::vector<uint16_t>> start();
  // Closes the listeners and every connection and joins the threads. Idempotent.
  void stop();
  // Requests served per instance (responses fully written, /__stats excluded). Thread-safe; after
  // stop() it keeps the final counts.
  std::vector<uint64_t> served() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `horde target` subcommand: validates the options (bad -> message on stderr, returns 2),
// starts, prints one "horde target: instance <i> listening on http://<host>:<port>/" line per
// instance, serves until SIGINT or SIGTERM, logs the final counts and returns 0 (1 if it could
// not start).
int run_target(const TargetOptions& options);

}  // namespace horde
