// SPDX-License-Identifier: Apache-2.0
// sbert::compiled: the one translation unit that defines, non-inline, the functions the headers
// put in `#if SBERT_DEFINITIONS` blocks (see include/sbert/detail/compiled.hpp). Programs that
// link the library skip those blocks, so each of them no longer parses, optimises and emits its
// own copy of the tokenizers, safetensors, TensorBoard and model-card code.
#ifndef SBERT_COMPILED_BUILD
#error "build src/compiled.cpp through the sbert_compiled CMake target (it defines SBERT_COMPILED_BUILD)"
#endif
#include <sbert/sbert.hpp>
