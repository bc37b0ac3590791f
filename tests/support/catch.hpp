// The one place that knows which Catch2 is installed (v2.13 from bookworm, v3 from backports).
#pragma once
#ifdef SBERT_CATCH3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
#include <cstdlib>
#include <string>

namespace sbert::test {
// shared/ beside the checkout (CI lays it out so); SBERT_SHARED_DIR in the environment wins.
inline std::string shared_dir() {
  if (const char* e = std::getenv("SBERT_SHARED_DIR"); e && *e) return e;
  return SBERT_SHARED_DIR;
}
// The reference vectors of the Python library; SBERT_REFERENCE_DIR lets a parity test run
// against a reference set produced by another version of sentence-transformers.
inline std::string reference_dir() {
  if (const char* e = std::getenv("SBERT_REFERENCE_DIR"); e && *e) return e;
  return shared_dir() + "/reference";
}
}  // namespace sbert::test
