// Small helpers the report.html sections share (report_sections.cc, report_capacity.cc,
// report_scalability.cc): escaping, number cells, axes and charts with their defaults.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "controller/svg_chart.h"

namespace horde::report {

inline std::string esc(const std::string& s) { return xml_escape(s); }

inline ChartAxis axis(std::string label, AxisScale scale = AxisScale::kLinear) {
  ChartAxis a;
  a.label = std::move(label);
  a.scale = scale;
  return a;
}

inline LineChart line_chart(std::string title, ChartAxis x, ChartAxis y,
                            std::vector<ChartMarker> markers = {}) {
  LineChart c;
  c.title = std::move(title);
  c.x = std::move(x);
  c.y = std::move(y);
  c.markers = std::move(markers);
  return c;
}

// A table cell's number; an en dash for a missing (non-finite) one.
inline std::string num(double v, int decimals = 1) {
  if (!std::isfinite(v)) return "&ndash;";
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace horde::report
