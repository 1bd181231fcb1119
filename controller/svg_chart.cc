#include "controller/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/text.h"

namespace horde {

namespace {

constexpr double kLeft = 78, kRight = 24, kTop = 58, kBottom = 52;
constexpr double kMaxPercentileT = 6;  // 99.9999%

struct Ticks {
  std::vector<double> values;
  std::vector<std::string> labels;
};

// One axis mapping data values to pixels, with its ticks.
class Scale {
 public:
  Scale(const ChartAxis& axis, double lo, double hi, double px0, double px1)
      : kind_(axis.scale), px0_(px0), px1_(px1) {
    t0_ = transform(lo);
    t1_ = transform(hi);
    if (!(t1_ > t0_)) t1_ = t0_ + 1;
  }

  double transform(double v) const {
    switch (kind_) {
      case AxisScale::kLog:
        return std::log10(v);
      case AxisScale::kPercentile:
        return std::min(kMaxPercentileT, -std::log10(std::max(1e-12, 1.0 - v / 100.0)));
      case AxisScale::kLinear:
        break;
    }
    return v;
  }
  bool drawable(double v) const { return std::isfinite(v) && (kind_ != AxisScale::kLog || v > 0); }
  double px(double v) const { return px0_ + (transform(v) - t0_) / (t1_ - t0_) * (px1_ - px0_); }

  Ticks ticks() const {
    Ticks t;
    auto add = [&](double v, std::string label) {
      const double tv = transform(v);
      if (tv >= t0_ - 1e-9 && tv <= t1_ + 1e-9) {
        t.values.push_back(v);
        t.labels.push_back(std::move(label));
      }
    };
    if (kind_ == AxisScale::kPercentile) {
      for (const char* p : {"0", "50", "90", "99", "99.9", "99.99", "99.999", "99.9999"}) {
        add(std::stod(p), std::string(p) + "%");
      }
    } else if (kind_ == AxisScale::kLog) {
      const int e0 = static_cast<int>(std::floor(t0_)), e1 = static_cast<int>(std::ceil(t1_));
      const bool dense = e1 - e0 <= 2;  // 1-2-5 ticks when few decades are shown
      for (int e = e0; e <= e1; ++e) {
        for (double m : {1.0, 2.0, 5.0}) {
          if (m != 1.0 && !dense) continue;
          add(m * std::pow(10.0, e), tick_label(m * std::pow(10.0, e)));
        }
      }
    } else {
      const double span = t1_ - t0_;
      const double raw = span / 6;
      const double mag = std::pow(10.0, std::floor(std::log10(raw)));
      double step = mag;
      for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (m * mag >= raw) {
          step = m * mag;
          break;
        }
      }
      for (double v = std::ceil(t0_ / step - 1e-9) * step; v <= t1_ + step * 1e-9; v += step) {
        add(std::abs(v) < step * 1e-9 ? 0.0 : v, tick_label(std::abs(v) < step * 1e-9 ? 0.0 : v));
      }
    }
    return t;
  }

 private:
  AxisScale kind_;
  double px0_, px1_, t0_ = 0, t1_ = 1;
};

// The data range of an axis: explicit bounds win; a linear y starts at 0; log
// ranges snap to whole decades so the ticks frame the data.
std::pair<double, double> range_of(const ChartAxis& axis, const std::vector<double>& values,
                                   bool is_y, bool pad = false) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v) || (axis.scale == AxisScale::kLog && v <= 0)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = axis.scale == AxisScale::kLog ? 1 : 0, hi = lo + 1;
  switch (axis.scale) {
    case AxisScale::kLog:
      lo = std::pow(10.0, std::floor(std::log10(lo)));
      hi = std::pow(10.0, std::ceil(std::log10(hi) + 1e-9));
      break;
    case AxisScale::kPercentile:
      lo = 0;
      hi = 100.0 -
           100.0 * std::pow(10.0, -std::ceil(-std::log10(std::max(1e-6, 1 - hi / 100.0)) - 1e-9));
      break;
    case AxisScale::kLinear:
      if (is_y) {
        lo = std::min(lo, 0.0);
        hi = hi <= lo ? lo + 1 : hi * 1.08;
      } else if (hi <= lo) {
        hi = lo + 1;
      } else if (pad) {  // room for markers and their labels at both ends
        const double room = (hi - lo) * 0.06;
        lo = lo >= 0 ? std::max(0.0, lo - room) : lo - room;
        hi += room;
      }
      break;
  }
  if (axis.min) lo = *axis.min;
  if (axis.max) hi = *axis.max;
  return {lo, hi};
}

std::string open_svg(int width, int height, const std::string& title) {
  return fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"{}\">\n<text class=\"title\" x=\"{}\" y=\"22\">{}</text>\n",
      width, height, xml_escape(title), kLeft, xml_escape(title));
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& entries,
                   const std::vector<bool>& dashed) {
  std::string out;
  double x = kLeft;
  for (size_t i = 0; i < entries.size(); ++i) {
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"39\" x2=\"{:.1f}\" y2=\"39\" stroke=\"{}\" stroke-width=\"3\"{}/>"
        "<text class=\"legend\" x=\"{:.1f}\" y=\"43\">{}</text>\n",
        x, x + 18, entries[i].second, dashed[i] ? " stroke-dasharray=\"5 3\"" : "", x + 23,
        xml_escape(entries[i].first));
    x += 23 + 7.0 * static_cast<double>(entries[i].first.size()) + 22;
  }
  return out;
}

std::string no_data(const std::string& svg_head, int width, int height) {
  return svg_head + fmt::format("<text class=\"nodata\" x=\"{}\" y=\"{}\">no data</text>\n</svg>\n",
                                width / 2, height / 2);
}

}  // namespace

const char* palette_color(size_t i) {
  static constexpr const char* kColors[] = {"#1f6fb4", "#e4572e", "#2a9d4b", "#8e44ad",
                                            "#d4a017", "#17a2b8", "#6c757d", "#c2185b"};
  return kColors[i % (sizeof kColors / sizeof kColors[0])];
}

std::string xml_escape(const std::string& raw) {
  // Text from agents and targets may be anything: invalid UTF-8 becomes U+FFFD and
  // control characters XML forbids become U+FFFD too, so the page always parses.
  const std::string s = text::sanitize_utf8(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string tick_label(double v) {
  const double a = std::abs(v);
  if (a >= 1e6) return fmt::format("{:g}M", std::round(v / 1e5) / 10);
  if (a >= 1e4) return fmt::format("{:g}k", std::round(v / 1e2) / 10);
  if (a >= 100 || a == 0) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string render_line_chart(const LineChart& c) {
  std::string out = open_svg(c.width, c.height, c.title);
  std::vector<double> xs, ys;
  for (const auto& s : c.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xs.push_back(s.x[i]);
      ys.push_back(s.y[i]);
      for (const auto* bound : {&s.y_low, &s.y_high}) {
        if (i < bound->size() && std::isfinite((*bound)[i])) ys.push_back((*bound)[i]);
      }
    }
  }
  if (xs.empty()) return no_data(out, c.width, c.height);
  for (const auto& m : c.markers) xs.push_back(m.x);
  bool pad = false;
  for (const auto& s : c.series) pad |= !s.point_labels.empty();
  const auto [x0, x1] = range_of(c.x, xs, false, pad);
  const auto [y0, y1] = range_of(c.y, ys, true);
  const double right = c.width - kRight, bottom = c.height - kBottom;
  const Scale sx(c.x, x0, x1, kLeft, right), sy(c.y, y0, y1, bottom, kTop);

  // Grid and ticks.
  out +=
      fmt::format("<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\"/>\n",
                  kLeft, kTop, right - kLeft, bottom - kTop);
  const Ticks tx = sx.ticks(), ty = sy.ticks();
  for (size_t i = 0; i < ty.values.size(); ++i) {
    const double y = sy.px(ty.values[i]);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"tick\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, y, right, y, kLeft - 6, y + 4, xml_escape(ty.labels[i]));
  }
  for (size_t i = 0; i < tx.values.size(); ++i) {
    const double x = sx.px(tx.values[i]);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        x, kTop, x, bottom, x, bottom + 16, xml_escape(tx.labels[i]));
  }
  out += fmt::format(
      "<text class=\"axis\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text class=\"axis\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      (kLeft + right) / 2, c.height - 10, xml_escape(c.x.label), (kTop + bottom) / 2,
      xml_escape(c.y.label));

  for (const auto& m : c.markers) {
    if (!sx.drawable(m.x)) continue;
    const double x = sx.px(m.x);
    out += fmt::format(
        "<line class=\"marker\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"mlabel\" x=\"{:.1f}\" y=\"{}\">{}</text>\n",
        x, kTop, x, bottom, x + 4, kTop + 12, xml_escape(m.label));
  }

  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<bool> dashed;
  for (size_t si = 0; si < c.series.size(); ++si) {
    const auto& s = c.series[si];
    const std::string color = s.color.empty() ? palette_color(si) : s.color;
    if (!s.name.empty()) {
      entries.emplace_back(s.name, color);
      dashed.push_back(s.dashed);
    }
    std::string path;
    bool pen_down = false;
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i) {
      if (!sx.drawable(s.x[i]) || !sy.drawable(s.y[i])) {
        pen_down = false;
        continue;
      }
      path += fmt::format("{}{:.1f},{:.1f} ", pen_down ? "L" : "M", sx.px(s.x[i]), sy.px(s.y[i]));
      pen_down = true;
    }
    if (s.line && !path.empty()) {
      out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                         path, color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    }
    for (size_t i = 0; i < n; ++i) {
      if (!sx.drawable(s.x[i]) || !sy.drawable(s.y[i])) continue;
      const double px = sx.px(s.x[i]), py = sy.px(s.y[i]);
      if (i < s.y_low.size() && i < s.y_high.size() && sy.drawable(s.y_low[i]) &&
          sy.drawable(s.y_high[i])) {
        const double lo = sy.px(s.y_low[i]), hi = sy.px(s.y_high[i]);
        out += fmt::format(
            "<path class=\"errorbar\" d=\"M{:.1f},{:.1f} L{:.1f},{:.1f} M{:.1f},{:.1f} "
            "L{:.1f},{:.1f} M{:.1f},{:.1f} L{:.1f},{:.1f}\" fill=\"none\" stroke=\"{}\" "
            "stroke-width=\"1.5\"/>\n",
            px, lo, px, hi, px - 5, lo, px + 5, lo, px - 5, hi, px + 5, hi, color);
      }
      if (s.markers) {
        out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>\n", px, py,
                           color);
      }
      if (i < s.point_labels.size() && !s.point_labels[i].empty()) {
        // Labels at the plot's edges grow inward so they are never cut off.
        const char* anchor = px > right - 45 ? "end" : px < kLeft + 45 ? "start" : "middle";
        out += fmt::format(
            "<text class=\"plabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>\n", px,
            py - 9, anchor, xml_escape(s.point_labels[i]));
      }
    }
  }
  out += legend(entries, dashed);
  return out + "</svg>\n";
}

std::string render_bar_chart(const BarChart& c) {
  std::string out = open_svg(c.width, c.height, c.title);
  if (c.values.empty()) return no_data(out, c.width, c.height);
  ChartAxis axis;
  axis.label = c.y_label;
  const auto [y0, y1] = range_of(axis, c.values, true);
  const double right = c.width - kRight, bottom = c.height - kBottom;
  const Scale sy(axis, y0, y1, bottom, kTop);
  out +=
      fmt::format("<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\"/>\n",
                  kLeft, kTop, right - kLeft, bottom - kTop);
  const Ticks ty = sy.ticks();
  for (size_t i = 0; i < ty.values.size(); ++i) {
    const double y = sy.px(ty.values[i]);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"tick\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, y, right, y, kLeft - 6, y + 4, xml_escape(ty.labels[i]));
  }
  const double slot = (right - kLeft) / static_cast<double>(c.values.size());
  const double bar = std::min(slot * 0.6, 90.0);
  for (size_t i = 0; i < c.values.size(); ++i) {
    const double cx = kLeft + slot * (static_cast<double>(i) + 0.5);
    const double top = sy.px(std::max(0.0, c.values[i]));
    std::string label = i < c.labels.size() ? c.labels[i] : "";
    const size_t fit = static_cast<size_t>(std::max(3.0, slot / 7.0));
    if (label.size() > fit) label = label.substr(0, fit - 1) + "\u2026";
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>"
        "<text class=\"plabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        cx - bar / 2, top, bar, std::max(0.0, bottom - top), palette_color(0), cx, top - 5,
        xml_escape(tick_label(c.values[i])), cx, bottom + 16, xml_escape(label));
  }
  out += fmt::format(
      "<text class=\"axis\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text class=\"axis\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      (kLeft + right) / 2, c.height - 10, xml_escape(c.x_label), (kTop + bottom) / 2,
      xml_escape(c.y_label));
  out += legend({{c.legend, palette_color(0)}}, {false});
  return out + "</svg>\n";
}

}  // namespace horde
