// sbert::detail::prefetch, the worker thread encode() tokenises the next batch on: items come
// in order from another thread, at most `depth` ahead; a failure reaches the caller at the
// item that failed; destroying it early stops the worker.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sbert/detail/prefetch.hpp>

#include "catch.hpp"

using sbert::detail::prefetch;
using namespace std::chrono_literals;

TEST_CASE("prefetch: every item in order, computed on another thread", "[prefetch]") {
  const auto caller = std::this_thread::get_id();
  std::atomic<int> on_caller{0};
  prefetch<std::string> p(50, [&](std::size_t i) {
    on_caller += std::this_thread::get_id() == caller;
    return std::to_string(i * i);
  });
  for (std::size_t i = 0; i < 50; ++i) CHECK(p.next() == std::to_string(i * i));
  CHECK(on_caller == 0);
  CHECK_THROWS_AS(p.next(), std::out_of_range);
}

TEST_CASE("prefetch: the worker stays at most depth items ahead", "[prefetch]") {
  for (const std::size_t depth : {1u, 3u}) {
    std::atomic<std::size_t> made{0};
    prefetch<int> p(20, [&](std::size_t i) {
      ++made;
      return static_cast<int>(i);
    }, depth);
    for (std::size_t taken = 0; taken < 20; ++taken) {
      std::this_thread::sleep_for(2ms);  // time for the worker to run ahead as far as it may
      // `taken` items are gone, at most `depth` wait, and one more may be in make()
      CHECK(made <= taken + depth + 1);
      CHECK(p.next() == static_cast<int>(taken));
    }
  }
}

TEST_CASE("prefetch: an item's exception reaches next() at that item, after the items before it", "[prefetch]") {
  std::atomic<std::size_t> made{0};
  prefetch<int> p(10, [&](std::size_t i) {
    ++made;
    if (i == 3) throw std::runtime_error("batch 3 cannot be tokenised");
    return static_cast<int>(i) * 10;
  }, 2);
  CHECK(p.next() == 0);
  CHECK(p.next() == 10);
  CHECK(p.next() == 20);
  CHECK_THROWS_WITH(p.next(), "batch 3 cannot be tokenised");
  CHECK(made == 4);  // the worker stopped at the failure
}

TEST_CASE("prefetch: destroyed early, the worker stops after its current item", "[prefetch]") {
  std::atomic<std::size_t> made{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    prefetch<int> p(1000, [&](std::size_t i) {
      ++made;
      std::this_thread::sleep_for(5ms);
      return static_cast<int>(i);
    });
    CHECK(p.next() == 0);
    CHECK(p.next() == 1);
  }
  CHECK(made <= 4);  // 2 taken, 1 waiting, 1 in make() when the destructor ran
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  prefetch<int> none(0, [](std::size_t) -> int { throw std::logic_error("never called"); });
  CHECK_THROWS_AS(none.next(), std::out_of_range);
}
