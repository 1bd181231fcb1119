// Open loop: the intended send times of requests that are due but wait for a
// free connection, oldest first. A ring allocated once; when full the oldest is
// dropped (the engine counts it late) instead of growing without bound.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace horde {

class DueQueue {
 public:
  explicit DueQueue(size_t capacity) : ring_(std::max<size_t>(capacity, 1)) {}
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // False when the oldest entry had to be dropped to make room.
  bool push(std::chrono::steady_clock::time_point t) {
    bool dropped = false;
    if (size_ == ring_.size()) {
      pop();
      dropped = true;
    }
    ring_[(head_ + size_) % ring_.size()] = t;
    ++size_;
    return !dropped;
  }
  std::chrono::steady_clock::time_point front() const { return ring_[head_]; }
  std::chrono::steady_clock::time_point pop() {
    std::chrono::steady_clock::time_point t = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return t;
  }

 private:
  std::vector<std::chrono::steady_clock::time_point> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace horde
