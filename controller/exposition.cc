#include "controller/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace horde {

namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
bool label_start(char c) { return name_start(c) && c != ':'; }
bool label_char(char c) { return label_start(c) || (c >= '0' && c <= '9'); }
bool blank(char c) { return c == ' ' || c == '\t'; }

// One line, read left to right; fail() keeps the first complaint.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : s_(line) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_blanks() {
    while (!done() && blank(s_[i_])) ++i_;
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  std::string_view take_while(bool (*first)(char), bool (*rest)(char)) {
    const size_t from = i_;
    if (done() || !first(s_[i_])) return {};
    ++i_;
    while (!done() && rest(s_[i_])) ++i_;
    return s_.substr(from, i_ - from);
  }
  std::string_view token() {
    const size_t from = i_;
    while (!done() && !blank(s_[i_])) ++i_;
    return s_.substr(from, i_ - from);
  }
  // A quoted label value with \\, \" and \n escapes; false on a bad escape or no closing quote.
  bool quoted(std::string* out) {
    if (!eat('"')) return false;
    while (!done()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (done()) return false;
      const char e = s_[i_++];
      if (e == '\\' || e == '"') {
        out->push_back(e);
      } else if (e == 'n') {
        out->push_back('\n');
      } else {
        return false;
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Go's ParseFloat as the format uses it: a leading '+', Inf and NaN in any case.
bool parse_value(std::string_view t, double* out) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  if (t.empty() || t.front() == '+') return false;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && end == t.data() + t.size();
}

bool parse_timestamp(std::string_view t, int64_t* out) {
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && end == t.data() + t.size();
}

Result<bool> parse_line(std::string_view line, Sample* s) {
  LineReader r(line);
  const std::string_view name = r.take_while(name_start, name_char);
  if (name.empty()) return Error{"expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"};
  s->name = std::string(name);
  r.skip_blanks();
  if (r.eat('{')) {
    while (true) {
      r.skip_blanks();
      if (r.eat('}')) break;
      const std::string_view label = r.take_while(label_start, label_char);
      if (label.empty()) return Error{"expected a label name or '}'"};
      r.skip_blanks();
      if (!r.eat('=')) return Error{fmt::format("label {}: expected '='", label)};
      r.skip_blanks();
      std::string value;
      if (!r.quoted(&value)) {
        return Error{fmt::format(
            "label {}: expected a value in double quotes (escapes \\\\ \\\" \\n only)", label)};
      }
      s->labels.emplace_back(std::string(label), std::move(value));
      r.skip_blanks();
      if (r.eat(',')) continue;
      if (r.eat('}')) break;
      return Error{"expected ',' or '}' after a label"};
    }
    std::sort(s->labels.begin(), s->labels.end());
    for (size_t i = 1; i < s->labels.size(); ++i) {
      if (s->labels[i].first == s->labels[i - 1].first) {
        return Error{fmt::format("label {} appears twice", s->labels[i].first)};
      }
    }
  }
  r.skip_blanks();
  const std::string_view value = r.token();
  if (!parse_value(value, &s->value)) {
    return Error{
        fmt::format("value: got '{}'; expected a number, +Inf, -Inf or NaN", value.substr(0, 40))};
  }
  r.skip_blanks();
  if (!r.done()) {
    const std::string_view ts = r.token();
    int64_t t = 0;
    if (!parse_timestamp(ts, &t)) {
      return Error{fmt::format("timestamp: got '{}'; expected an integer (ms)", ts.substr(0, 40))};
    }
    s->timestamp_ms = t;
    r.skip_blanks();
    if (!r.done()) return Error{"unexpected text after the timestamp"};
  }
  return true;
}

}  // namespace

Result<std::vector<Sample>> parse_exposition(std::string_view text) {
  if (text.size() > kMaxExpositionBytes) {
    return Error{fmt::format("a body of {} bytes is over the limit of {} MiB", text.size(),
                             kMaxExpositionBytes / (1024 * 1024))};
  }
  std::vector<Sample> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = 0;
    while (first < line.size() && blank(line[first])) ++first;
    line.remove_prefix(first);
    if (line.empty() || line.front() == '#') continue;
    if (out.size() == kMaxExpositionSamples) {
      return Error{fmt::format("more than {} samples", kMaxExpositionSamples)};
    }
    Sample s;
    if (auto ok = parse_line(line, &s); !ok) {
      return Error{fmt::format("line {}: {}", line_no, ok.error().message)};
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool SeriesMatch::matches(const Sample& s) const {
  if (s.name != metric) return false;
  for (const auto& [label, want] : labels) {
    std::string_view have;
    for (const auto& [k, v] : s.labels) {
      if (k == label) have = v;
    }
    const bool negate = !want.empty() && want.front() == '!';
    const std::string_view value = negate ? std::string_view(want).substr(1) : want;
    if ((have == value) == negate) return false;
  }
  return true;
}

std::optional<double> sum_matching(const std::vector<Sample>& samples, const SeriesMatch& m) {
  std::optional<double> sum;
  for (const Sample& s : samples) {
    if (m.matches(s)) sum = sum.value_or(0) + s.value;
  }
  return sum;
}

std::optional<double> CounterRate::add(const std::vector<Sample>& samples, double t_seconds) {
  std::map<std::vector<std::pair<std::string, std::string>>, double> now;
  for (const Sample& s : samples) {
    if (match_.matches(s) && std::isfinite(s.value)) now[s.labels] = s.value;
  }
  std::optional<double> rate;
  if (last_t_ && t_seconds > *last_t_) {
    double increase = 0;
    bool any = false;
    for (const auto& [series, value] : now) {
      const auto before = last_.find(series);
      if (before == last_.end()) continue;  // new: counted from its next scrape on
      any = true;
      increase += value >= before->second ? value - before->second : value;  // a reset
    }
    if (any) rate = increase / (t_seconds - *last_t_);
  }
  last_ = std::move(now);
  last_t_ = t_seconds;
  return rate;
}

}  // namespace horde
