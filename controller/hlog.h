// latency.hlog: the HdrHistogram interval log (format version 1.3), so a run's
// latency can be read, merged over any time range and plotted by HdrHistogram's
// own tools (HistogramLogProcessor, hdr-histogram-js, HdrHistogram_py). Each line
// is one interval's histogram in HdrHistogram's V2 compressed encoding (zlib
// over ZigZag-LEB128 counts with zero runs) in base64. Our Histogram shares
// HdrHistogram's counts layout (lowest 1, highest 3,600,000,000, 3 digits), so
// the counts go out as they are: values in the log are MICROSECONDS. The
// Interval_Max column is the max in milliseconds (max-value divisor 1000, the
// default of HdrHistogram's log writers), which is also exact to the microsecond.
// The encoding does not carry exact extremes: a decoded histogram's min is its
// lowest bucket's lowest value; read_hlog restores the exact max from Interval_Max.
#pragma once

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "common/result.h"

namespace horde {

// HdrHistogram's V2 compressed encoding (cookie 0x1c849314 around a zlib stream
// of the V2 encoding, cookie 0x1c849313), in standard base64 with padding.
std::string encode_compressed_base64(const Histogram& h);
// The inverse, for text read from files: checks base64, cookies, lengths, the
// layout (lowest 1, 3 significant digits), every count and index. Min and max
// are the bucket edges of the lowest and highest non-empty buckets.
Result<Histogram> decode_compressed_base64(const std::string& text);

class HlogWriter {
 public:
  // Creates (truncates) path and writes the header: format version, StartTime
  // and BaseTime (both start_unix_seconds, so interval timestamps are offsets
  // from the run's start) and the column legend.
  static Result<HlogWriter> open(const std::string& path, double start_unix_seconds);

  // Appends one interval line and flushes it, so a crash loses no closed
  // interval. Offsets in seconds from the start; tag optional ("Tag=..." prefix;
  // no commas, spaces or newlines). Tools read untagged lines by default.
  Result<bool> append(double start_offset_s, double length_s, const Histogram& h,
                      const std::string& tag = "");

  const std::string& path() const { return path_; }

 private:
  HlogWriter(std::string path, std::ofstream out) : path_(std::move(path)), out_(std::move(out)) {}
  std::string path_;
  std::ofstream out_;
};

// Every interval of a log as (start offset in seconds, histogram), in file order,
// tagged or not. Comment, legend and blank lines are skipped; any other line
// that does not parse is an error naming the file and line.
Result<std::vector<std::pair<double, Histogram>>> read_hlog(const std::string& path);

}  // namespace horde
