// The terminal that the live line and the log lines share. The live line
// (stdout) is redrawn in place with '\r'; a log line (stderr: ours, or a local
// agent's passed through `horde run`) must never land in the middle of it, so
// every log line goes through here: the live line is cleared first, the log
// line is written whole, and the live line is drawn again under it. One mutex
// orders all of it, so lines from several threads never split each other.
#pragma once

#include <spdlog/sinks/sink.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace horde::console {

// Draws `line` in place on `out` (a terminal): '\r', the text, spaces over
// what is left of a longer previous line.
void draw_live(std::FILE* out, const std::string& line);
// Ends the live line with '\n' so it stays on screen; the next draw starts a new one.
void end_live();
// Writes one whole line (given without '\n') to `err`, around the live line.
void write_line(std::FILE* err, std::string_view line);

// A spdlog sink writing to stderr through write_line (colours on a terminal).
std::shared_ptr<spdlog::sinks::sink> stderr_sink();

}  // namespace horde::console
