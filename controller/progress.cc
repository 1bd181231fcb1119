#include "controller/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "controller/console.h"

namespace horde {

namespace {

constexpr int kBarWidth = 10;

// Milliseconds with the digits that matter: sub-millisecond latencies keep
// three decimals, larger ones one or none.
std::string format_ms(double ms) {
  if (!std::isfinite(ms) || ms < 0) ms = 0;
  if (ms < 1) return fmt::format("{:.3f}ms", ms);
  if (ms < 100) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.0f}ms", ms);
}

// Names come from workload files: keep the line a line.
std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

}  // namespace

uint32_t planned_phase_count(const Workload& w) {
  if (w.capacity) return 0;
  const Sweep& s = w.sweep;
  if (!s.agents.empty()) return static_cast<uint32_t>(s.agents.size());
  if (!s.instances.empty()) return static_cast<uint32_t>(s.instances.size());
  if (!s.rates.empty()) return static_cast<uint32_t>(s.rates.size());
  return 1;
}

std::string progress_line(const ProgressStatus& s) {
  const double total = std::max(s.total_s, 0.0);
  const double elapsed = std::clamp(s.elapsed_s, 0.0, total);
  const int filled =
      total > 0
          ? std::clamp(static_cast<int>(std::lround(kBarWidth * elapsed / total)), 0, kBarWidth)
          : kBarWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  const std::string count = s.phase_count ? fmt::format("{}/{}", s.phase_index + 1, s.phase_count)
                                          : fmt::format("{}", s.phase_index + 1);
  const bool last = total > 0 && s.elapsed_s >= total;
  const std::string errors =
      fmt::format("{:.0f}/s{}", std::max(s.errors_per_s, 0.0),
                  last ? fmt::format(" ({} total)", s.errors) : std::string());
  return fmt::format(
      "phase {} \"{}\" [{}] {:.1f}/{:.1f}s  {:.0f} rps  errors {}  p50 {} p99 {}  conns {}  "
      "agents {}/{}{}",
      count, printable(s.phase_name), bar, elapsed, total, std::max(s.rps, 0.0), errors,
      format_ms(s.p50_ms), format_ms(s.p99_ms), s.connections, s.agents_active, s.agents_total,
      s.warmup ? "  (warm-up)" : "");
}

ProgressRenderer ProgressRenderer::for_stream(std::FILE* out, bool allow_in_place) {
  return ProgressRenderer(out, allow_in_place && ::isatty(::fileno(out)) == 1);
}

void ProgressRenderer::update(const ProgressStatus& s) {
  const std::string line = progress_line(s);
  if (!in_place_) {
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  } else {
    // A new phase keeps the previous phase's last line on screen.
    if (open_line_ && s.phase_index != last_phase_) finish();
    // Through the console: a log line from any thread clears it first (console.h).
    console::draw_live(out_, line);
    open_line_ = true;
  }
  last_phase_ = s.phase_index;
}

void ProgressRenderer::message(const std::string& text) {
  finish();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void ProgressRenderer::finish() {
  if (!open_line_) return;
  console::end_live();
  open_line_ = false;
}

}  // namespace horde
