// The live progress display: one line per closed interval saying where the run
// is (phase i/n, a bar over the phase's time), what the last interval did
// (requests/s, errors/s) and what the phase measured so far (p50, p99; the error
// total at its end), and how
// many agents are still with it. On a terminal the line is redrawn in place
// with '\r'; otherwise (a pipe, a log file, --no-progress) each update is a
// plain line with no control characters, so logs stay greppable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/workload.h"

namespace horde {

// What the display shows after one interval closed: a plain value so the
// formatting is tested without a controller.
struct ProgressStatus {
  uint32_t phase_index = 0;  // 0-based; shown 1-based
  uint32_t phase_count = 0;  // 0: not known in advance (capacity search)
  std::string phase_name;
  double elapsed_s = 0;     // since the phase start, warm-up included
  double total_s = 0;       // warm-up + measured duration
  bool warmup = false;      // the interval just closed was a warm-up interval
  double rps = 0;           // of the interval just closed
  double errors_per_s = 0;  // of the interval just closed, like rps
  uint64_t errors = 0;      // measured so far in this phase: shown at the phase's end
  double p50_ms = 0, p99_ms = 0;
  uint64_t connections = 0;  // the most open at once in the interval just closed
  uint32_t agents_active = 0, agents_total = 0;
};

// Phases the run will have, or 0 when a capacity search decides as it goes.
uint32_t planned_phase_count(const Workload& w);

// `phase 2/5 "instances 3" [#####.....] 12.0/20.0s  8123 rps  errors 0/s  p50 1.2ms p99 4.5ms
// conns 12  agents 3/3` (one line, no control characters); the phase's last interval adds
// its error total: `errors 0/s (12 total)`.
std::string progress_line(const ProgressStatus& s);

class ProgressRenderer {
 public:
  // in_place: redraw one line with '\r' (a terminal); else print plain lines.
  explicit ProgressRenderer(std::FILE* out = stdout, bool in_place = false)
      : out_(out), in_place_(in_place) {}
  // in_place when `out` is a terminal and the user did not ask for plain lines.
  static ProgressRenderer for_stream(std::FILE* out, bool allow_in_place);

  void update(const ProgressStatus& s);
  // A whole line of its own (a warning): ends the line being redrawn first.
  void message(const std::string& text);
  // Ends the line being redrawn (before the summary table).
  void finish();

  bool in_place() const { return in_place_; }

 private:
  std::FILE* out_;
  bool in_place_;
  bool open_line_ = false;  // a redrawn line is on screen without its '\n'
  uint32_t last_phase_ = 0;
};

}  // namespace horde
