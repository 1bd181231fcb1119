// A templated request, compiled once per target when the phase starts and
// rendered per request into a reused buffer (HTTP/1.1: the connection's;
// HTTP/2: the stream slot's, agent/h2_template.h): literal runs
// are copied, slots ({{uuid}}, {{seq}}, {{random A B}}, {{now_ms}}, {{agent}},
// {{DATA.COLUMN}}) written in place, Content-Length from the rendered body.
// The buffers are reserved for the longest request the template can make the
// first time they are used, so a request allocates nothing after that, and
// nothing is locked: a thread's RenderState is its own; the only shared state
// is one atomic counter per data set in mode unique.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/request_table.h"
#include "common/template.h"
#include "common/workload.h"

namespace horde {

// What every template of an agent renders from, shared by its threads for a
// phase: the slice's data sets, {{agent}}, {{seq}}'s numbering, and for each
// data set in mode unique the next row to hand out.
struct TemplateData {
  explicit TemplateData(const WorkloadSlice& slice);
  std::vector<DataSet> sets;
  std::string agent;  // the agent's name, bytes a request line cannot take replaced by '_'
  uint64_t seq_first = 0;
  uint64_t seq_stride = 1;
  std::unique_ptr<std::atomic<uint64_t>[]> unique_next;  // one per set
  std::vector<DataColumns> columns() const;
};

// One engine thread's state for rendering: its random numbers, its next
// {{seq}}, its place in each cycle data set, and the rows chosen for the
// request being rendered.
class RenderState {
 public:
  // Thread `thread` of `threads`: its {{seq}} numbers are seq_first +
  // seq_stride * (thread + k * threads), its rows of a cycle set thread,
  // thread + threads, ... (mod the rows).
  RenderState(const TemplateData& data, unsigned thread, unsigned threads, uint64_t seed);

 private:
  friend class TemplateRenderer;
  friend class RequestTemplate;
  FastRandom rng_;
  uint64_t seq_next_;
  uint64_t seq_step_;
  uint64_t cycle_step_;
  std::vector<uint64_t> cycle_next_;  // per set
  std::vector<uint64_t> row_;         // per set: the row of the request being rendered
  std::string body_;                  // the rendered body, before the head that gives its length
  // A gRPC message's protobuf groups open while one field renders: where each
  // began and what it is (kept here, so a render zeroes no stack array).
  std::array<std::pair<size_t, TemplateFn>, kMaxTemplateDepth> groups_{};
};

// What the HTTP/1.1 and HTTP/2 templates share: the fields compiled against
// the data, one row per data set, {{seq}} and {{now_ms}} drawn once per
// request, and each slot written in place.
class TemplateRenderer {
 protected:
  // The values every slot of one request renders from.
  struct Draw {
    uint64_t seq = 0;
    int64_t now_ms = 0;
  };

  explicit TemplateRenderer(const TemplateData& data) : data_(&data) {}
  // `field` parsed and bound to the data sets (checked when the slice arrived).
  Template bound(const std::string& field, TemplateSyntax syntax = TemplateSyntax::kRequest) const;
  // Notes what `t` draws: {{seq}}, {{now_ms}}, the data sets it uses.
  void note_uses(const Template& t);
  // Chooses the request's rows and draws; false when a data set in mode
  // unique has no row left.
  bool begin(RenderState& s, Draw& d) const;
  void append(const Template& t, RenderState& s, std::string& out, const Draw& d) const;
  // The longest text `t` renders.
  size_t widest(const Template& t) const;

  const TemplateData* data_;

 private:
  bool uses_seq_ = false;
  bool uses_now_ = false;
  std::vector<uint16_t> sets_;  // the data sets it uses: one row each per request
};

// An HTTP/1.1 request.
class RequestTemplate : TemplateRenderer {
 public:
  // `spec` has at least one non-static template; `data` outlives this.
  RequestTemplate(const Url& target, const RequestSpec& spec, const TemplateData& data);

  // The whole request into `out` (cleared; its capacity is kept and reserved
  // once for max_size()). False, with nothing rendered, when a data set in
  // mode unique it uses has no row left.
  bool render(RenderState& state, std::string& out) const;
  // The longest request this template renders.
  size_t max_size() const { return max_head_ + max_body_ + kLengthLine; }
  bool head() const { return head_request_; }

 private:
  static constexpr size_t kLengthLine = 40;  // "Content-Length: " + 20 digits + CRLF CRLF

  Template head_;  // request line and headers, without Content-Length and the blank line
  Template body_;
  bool body_static_ = true;
  bool content_length_ = false;
  bool head_request_ = false;
  size_t max_head_ = 0;
  size_t max_body_ = 0;
};

}  // namespace horde
