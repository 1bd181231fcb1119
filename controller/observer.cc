#include "controller/observer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "controller/http_get.h"

namespace horde {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds(SteadyClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Prometheus writes sample values as strings ("1.5", "NaN", "+Inf").
std::optional<double> finite_value(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) return std::nullopt;
  const std::string& s = pair[1].get_ref<const std::string&>();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

ObserveFetch http_fetch() {
  return [](const Url& url, std::chrono::milliseconds timeout) -> Result<std::string> {
    auto r = http_get(url, timeout, kMaxExpositionBytes);
    if (!r) return r.error();
    if (r->status != 200) {
      // Prometheus explains a bad query in the body: keep it for the reader.
      if (r->status >= 400 && r->status < 500 && r->body.find("\"status\"") != std::string::npos) {
        return std::move(r->body);
      }
      return Error{fmt::format("{}: HTTP {}", url.text, r->status)};
    }
    return std::move(r->body);
  };
}

Result<std::optional<double>> prometheus_value(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"the answer is not a JSON object"};
  if (j.value("status", "") != "success") {
    const auto& err = j.contains("error") && j["error"].is_string() ? j["error"] : nlohmann::json();
    return Error{fmt::format("the query failed: {}",
                             err.is_string() ? err.get<std::string>() : "no reason given")};
  }
  const auto& data = j.contains("data") ? j["data"] : nlohmann::json();
  const std::string type =
      data.is_object() && data.contains("resultType") && data["resultType"].is_string()
          ? data["resultType"].get<std::string>()
          : "";
  if (type == "scalar") return finite_value(data["result"]);
  if (type != "vector") {
    return Error{fmt::format("the query gave {}; expected an instant vector or a scalar",
                             type.empty() ? "no result type" : "a " + type)};
  }
  const auto& result = data.contains("result") ? data["result"] : nlohmann::json();
  if (!result.is_array()) return Error{"the answer has no result list"};
  // No series is a failed reading, said in the warnings, not a silent null: Prometheus's
  // service discovery starts scraping a new target only after its first update (5 s).
  if (result.empty()) {
    return Error{"the query matched no series (not scraped yet, or a label that does not match)"};
  }
  std::optional<double> sum;
  for (const auto& s : result) {
    if (!s.is_object() || !s.contains("value")) continue;
    if (auto v = finite_value(s["value"])) sum = sum.value_or(0) + *v;
  }
  return sum;
}

SourceReader::SourceReader(const ObserveSource& source)
    : source_(&source),
      match_{source.metric, source.match},
      rate_(SeriesMatch{source.metric, source.match}) {}

Url SourceReader::url_at(double end_unix_s) const {
  if (source_->scrape) return *source_->scrape;
  Url u = *source_->prometheus;
  std::string base = u.path;
  const size_t q = base.find('?');
  if (q != std::string::npos) base.resize(q);
  while (!base.empty() && base.back() == '/') base.pop_back();
  u.path = fmt::format("{}/api/v1/query?query={}&time={:.3f}", base, url_encode(source_->query),
                       end_unix_s);
  u.text = fmt::format("{}://{}:{}{}", u.scheme, u.host, u.port, u.path);
  return u;
}

Result<std::optional<double>> SourceReader::read(std::string_view body, double t_s) {
  if (source_->prometheus) return prometheus_value(body);
  auto samples = parse_exposition(body);
  if (!samples) return Error{"not Prometheus text format: " + samples.error().message};
  const auto sum = sum_matching(*samples, match_);
  if (!sum) {
    std::string labels;
    for (const auto& [k, v] : match_.labels) {
      labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", k, v);
    }
    return Error{fmt::format("no series {}{{{}}} in the scrape", match_.metric, labels)};
  }
  if (!source_->rate) return std::optional<double>(*sum);
  return rate_.add(*samples, t_s);
}

void SourceReader::reset() { rate_ = CounterRate(match_); }

std::chrono::milliseconds ObserveClock::end_of(uint32_t i) const {
  return std::min<std::chrono::milliseconds>(interval * (i + 1), total);
}

std::chrono::milliseconds observe_timeout(std::chrono::milliseconds interval) {
  return std::clamp<std::chrono::milliseconds>(interval * 8 / 10, std::chrono::milliseconds(1),
                                               std::chrono::milliseconds(10'000));
}

Observer::Observer(std::vector<ObserveSource> sources, ObserveFetch fetch)
    : sources_(std::move(sources)), fetch_(std::move(fetch)) {}

Observer::~Observer() {
  if (!threads_.empty()) end_phase(SteadyClock::time_point::min());
}

void Observer::begin_phase(uint32_t phase, const ObserveClock& clock) {
  if (!threads_.empty()) end_phase(SteadyClock::time_point::min());
  phase_ = phase;
  clock_ = clock;
  {
    std::lock_guard lock(mu_);
    until_.reset();
    out_ = ObservedPhase{};
    out_.values.assign(clock.intervals, std::vector<std::optional<double>>(sources_.size()));
    failures_.assign(sources_.size(), Failures{});
  }
  for (size_t j = 0; j < sources_.size(); ++j) threads_.emplace_back([this, j] { run_source(j); });
}

ObservedPhase Observer::end_phase(SteadyClock::time_point until) {
  {
    std::lock_guard lock(mu_);
    until_ = until;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard lock(mu_);
  for (size_t j = 0; j < sources_.size(); ++j) {
    const Failures& f = failures_[j];
    if (f.count == 0) continue;
    out_.warnings.push_back(
        fmt::format("observe {}: {} of {} readings failed in phase {} (their values are null); "
                    "first: {}",
                    sources_[j].name, f.count, f.readings, phase_, f.first));
  }
  return std::move(out_);
}

void Observer::run_source(size_t j) {
  const ObserveSource& src = sources_[j];
  SourceReader reader(src);
  const auto timeout = observe_timeout(clock_.interval);
  const bool baseline = src.scrape && src.rate;
  for (int64_t k = baseline ? -1 : 0; k < static_cast<int64_t>(clock_.intervals); ++k) {
    const auto offset =
        k < 0 ? std::chrono::milliseconds(0) : clock_.end_of(static_cast<uint32_t>(k));
    const auto due = clock_.start + offset;
    {
      std::unique_lock lock(mu_);
      const auto skip = [&] { return until_ && due > *until_; };
      cv_.wait_until(lock, due, skip);
      if (skip()) return;
      // Woken early with readings still due up to until_: wait for this one's time.
      while (SteadyClock::now() < due) {
        cv_.wait_until(lock, due);
        if (skip()) return;
      }
    }
    std::string error;
    std::optional<double> value;
    if (SteadyClock::now() - due > clock_.interval) {
      error = "skipped: the previous reading ended more than an interval late";
    } else {
      const auto t0 = SteadyClock::now();
      const double end_unix = clock_.start_unix_s + std::chrono::duration<double>(offset).count();
      auto body = fetch_(reader.url_at(end_unix), timeout);
      const double t = (seconds(t0) + seconds(SteadyClock::now())) / 2;
      if (!body) {
        error = body.error().message;
      } else if (auto v = reader.read(*body, t); !v) {
        error = v.error().message;
      } else {
        value = *v;
      }
    }
    if (!error.empty()) reader.reset();
    std::lock_guard lock(mu_);
    Failures& f = failures_[j];
    ++f.readings;
    if (k >= 0 && value) out_.values[static_cast<size_t>(k)][j] = value;
    if (error.empty()) continue;
    if (++f.count == 1) {
      f.first = error;
      spdlog::warn("observe {}: {}; its values are null until it answers", src.name, error);
    }
  }
}

}  // namespace horde
