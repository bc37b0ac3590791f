// One worker thread that computes the next items of a sequence while the caller works on the
// current one: encode() tokenises batch b+1 while the model runs batch b, so the tokenizer is
// off the model's path (on CUDA, the GPU no longer waits for the CPU between batches).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace sbert::detail {

/// make(0), make(1), ..., make(n - 1), computed in order on one worker thread at most `depth`
/// items ahead of next(). An exception thrown by make() is rethrown by the next() that would
/// have returned that item; the worker stops there. Destroying the prefetch stops the worker
/// after its current item and joins it, so an early exit (the caller threw) never leaves a
/// thread running.
template <class T>
class prefetch {
 public:
  prefetch(std::size_t n, std::function<T(std::size_t)> make, std::size_t depth = 1)
      : n_(n), depth_(depth == 0 ? 1 : depth), make_(std::move(make)) {
    if (n_ > 0) worker_ = std::thread([this] { run(); });
  }
  prefetch(const prefetch&) = delete;
  prefetch& operator=(const prefetch&) = delete;
  ~prefetch() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    space_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  /// The next item, waiting for it if the worker is still computing it.
  [[nodiscard]] T next() {
    std::unique_lock lock(m_);
    if (taken_ == n_) throw std::out_of_range("prefetch: next() past the last item");
    ready_cv_.wait(lock, [&] { return !ready_.empty() || error_; });
    if (ready_.empty()) std::rethrow_exception(error_);  // the items before the failure were taken
    T v = std::move(ready_.front());
    ready_.pop_front();
    ++taken_;
    lock.unlock();
    space_.notify_one();
    return v;
  }

 private:
  void run() {
    for (std::size_t i = 0; i < n_; ++i) {
      {
        std::unique_lock lock(m_);
        space_.wait(lock, [&] { return stop_ || ready_.size() < depth_; });
        if (stop_) return;
      }
      std::optional<T> v;
      try {
        v.emplace(make_(i));
      } catch (...) {
        std::lock_guard lock(m_);
        error_ = std::current_exception();
        ready_cv_.notify_one();
        return;
      }
      {
        std::lock_guard lock(m_);
        ready_.push_back(std::move(*v));
      }
      ready_cv_.notify_one();
    }
  }

  const std::size_t n_, depth_;
  std::function<T(std::size_t)> make_;
  std::mutex m_;
  std::condition_variable ready_cv_, space_;
  std::deque<T> ready_;
  std::exception_ptr error_;
  std::size_t taken_ = 0;
  bool stop_ = false;
  std::thread worker_;  // last: started once every other member exists
};

}  // namespace sbert::detail
