#include "controller/console.h"

#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <mutex>

namespace horde::console {

namespace {

struct State {
  std::mutex mu;
  std::FILE* out = nullptr;  // where the live line is, while `open`
  std::string text;
  bool open = false;
};

State& state() {
  static State s;
  return s;
}

// base_sink locks its own mutex around format + write (the formatter caches state).
class Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Sink() : color_(::isatty(::fileno(stderr)) == 1) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (color_ && msg.color_range_end > msg.color_range_start &&
        msg.color_range_end <= line.size()) {
      const char* code = msg.level >= spdlog::level::err    ? "\033[31m"
                         : msg.level == spdlog::level::warn ? "\033[33m"
                                                            : "\033[32m";
      line.insert(msg.color_range_end, "\033[0m");
      line.insert(msg.color_range_start, code);
    }
    write_line(stderr, line);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool color_;
};

}  // namespace

void draw_live(std::FILE* out, const std::string& line) {
  State& s = state();
  std::lock_guard lock(s.mu);
  const size_t pad = s.open && s.text.size() > line.size() ? s.text.size() - line.size() : 0;
  // Spaces over the rest of a longer previous line: no terminal escapes needed.
  std::fprintf(out, "\r%s%*s", line.c_str(), static_cast<int>(pad), "");
  std::fflush(out);
  s.out = out;
  s.text = line;
  s.open = true;
}

void end_live() {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (!s.open) return;
  std::fputc('\n', s.out);
  std::fflush(s.out);
  s.open = false;
  s.text.clear();
}

void write_line(std::FILE* err, std::string_view line) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.open) {
    std::fprintf(s.out, "\r%*s\r", static_cast<int>(s.text.size()), "");
    std::fflush(s.out);
  }
  std::string whole(line);
  whole += '\n';
  std::fwrite(whole.data(), 1, whole.size(), err);
  std::fflush(err);
  if (s.open) {
    std::fputs(s.text.c_str(), s.out);
    std::fflush(s.out);
  }
}

std::shared_ptr<spdlog::sinks::sink> stderr_sink() { return std::make_shared<Sink>(); }

}  // namespace horde::console
