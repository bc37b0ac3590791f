// SPDX-License-Identifier: Apache-2.0
// Separate compilation (optional, like fmt's or Asio's): the heavy non-template functions of
// some headers are defined out of class in an `#if SBERT_DEFINITIONS` block. Header-only (the
// default) compiles them inline in every translation unit; a program that links
// sbert::compiled gets SBERT_COMPILED defined, skips the blocks and links the one copy that
// src/compiled.cpp built (with SBERT_COMPILED_BUILD: SBERT_INLINE empty, so they are emitted).
#pragma once

#if defined(SBERT_COMPILED_BUILD)
#define SBERT_INLINE
#define SBERT_DEFINITIONS 1
#elif defined(SBERT_COMPILED)
#define SBERT_INLINE inline
#define SBERT_DEFINITIONS 0
#else
#define SBERT_INLINE inline
#define SBERT_DEFINITIONS 1
#endif
