// Small inline-SVG charts for report.html: line/scatter charts with several
// series, linear, log10 and percentile ("1/(1-p)", HdrHistogram style) axes,
// vertical markers (phase boundaries), point labels, error bars, and bar charts. Output is
// self-contained SVG text (no scripts, no external fonts or links) sized by a
// viewBox so it scales with the page. Every chart gets a title, axis labels,
// tick labels and a legend; a chart without data says so instead of drawing axes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace horde {

enum class AxisScale {
  kLinear,
  kLog,         // log10; values <= 0 are not drawn
  kPercentile,  // x in percent, placed at log10(1 / (1 - p/100)): 50, 90, 99, 99.9 ... equally
                // apart
};

struct ChartAxis {
  std::string label;  // with the unit, e.g. "latency (ms)"
  AxisScale scale = AxisScale::kLinear;
  std::optional<double> min, max;  // default: from the data (linear y includes 0)
};

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;  // a NaN y breaks the line (a gap between phases)
  std::string color;         // empty: the palette colour for the series' position
  bool line = true;
  bool markers = false;
  bool dashed = false;
  std::vector<std::string> point_labels;  // optional, drawn above each marker
  // Optional error bars: a vertical bar from y_low[i] to y_high[i] at x[i] (NaN: none).
  std::vector<double> y_low, y_high;
};

struct ChartMarker {
  double x = 0;
  std::string label;  // drawn at the top, right of the line
};

struct LineChart {
  std::string title;
  ChartAxis x, y;
  std::vector<ChartSeries> series;
  std::vector<ChartMarker> markers;
  int width = 1100;
  int height = 320;
};

struct BarChart {
  std::string title;
  std::string x_label, y_label;
  std::vector<std::string> labels;
  std::vector<double> values;
  std::string legend;  // what a bar is, e.g. "requests"
  int width = 1100;
  int height = 300;
};

std::string render_line_chart(const LineChart& chart);
std::string render_bar_chart(const BarChart& chart);

// Escapes &, <, >, " and ' for text and attribute values.
std::string xml_escape(const std::string& s);
// Compact tick text: 0.5, 12, 1.5k, 2M.
std::string tick_label(double v);
// The i-th colour of the palette shared by all charts.
const char* palette_color(size_t i);

}  // namespace horde
