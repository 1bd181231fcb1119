// Open loop: the requests that are due but wait for a free connection, oldest
// first: each one's intended send time (its latency origin) and the time it
// began to wait (what request_timeout is counted from while it waits). The two
// differ when the send loop runs behind the schedule, as when the agent's
// --max-rate bucket holds a faster slice: the intended times then fall further
// behind now with every request, and a request taken off the schedule seconds
// late must not be given up as a timeout after waiting a millisecond for a
// connection. A ring allocated once; when full the oldest is dropped (the
// engine counts it late) instead of growing without bound.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace horde {

class DueQueue {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit DueQueue(size_t capacity) : ring_(std::max<size_t>(capacity, 1)) {}
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // The request due at `intended` waits from `queued` on. False when the
  // oldest entry had to be dropped to make room.
  bool push(TimePoint intended, TimePoint queued) {
    bool dropped = false;
    if (size_ == ring_.size()) {
      pop();
      dropped = true;
    }
    ring_[(head_ + size_) % ring_.size()] = Entry{intended, queued};
    ++size_;
    return !dropped;
  }
  // When the oldest entry began to wait.
  TimePoint front_queued() const { return ring_[head_].queued; }
  // The oldest entry's intended send time, removed.
  TimePoint pop() {
    const TimePoint t = ring_[head_].intended;
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return t;
  }

 private:
  struct Entry {
    TimePoint intended;
    TimePoint queued;
  };
  std::vector<Entry> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace horde
