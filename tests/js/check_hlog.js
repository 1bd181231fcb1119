#!/usr/bin/env node
// Reads a HdrHistogram interval log with hdr-histogram-js's own HistogramLogReader
// (an implementation independent of horde's) and prints one JSON object per
// interval: start offset, total count, p50, p99 and max in the log's value unit.
// Usage: node check_hlog.js FILE.hlog
"use strict";
const fs = require("fs");
const hdr = require("hdr-histogram-js");

const file = process.argv[2];
if (!file) {
  console.error("usage: node check_hlog.js FILE.hlog");
  process.exit(2);
}
// 64-bit buckets: no count in a real run can overflow them.
const reader = new hdr.HistogramLogReader(fs.readFileSync(file, "utf8"), 64);
const out = [];
for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
  out.push({
    start_s: h.startTimeStampMsec / 1000,
    end_s: h.endTimeStampMsec / 1000,
    tag: h.tag,
    total_count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p99: h.getValueAtPercentile(99),
    max: h.maxValue,
  });
}
process.stdout.write(JSON.stringify(out) + "\n");
