# The safetensors header fuzzer's replay driver, for any compiler (included from
# tests/fuzz/CMakeLists.txt): replays the seed corpus and a fixed stream of mutations under ctest.
# The libFuzzer build of the same file is the clang project's (project/targets.txt).
add_executable(safetensors_fuzz_replay ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cpp)
target_link_libraries(safetensors_fuzz_replay PRIVATE sbert::core)
target_compile_definitions(safetensors_fuzz_replay PRIVATE SBERT_FUZZ_STANDALONE)
add_test(NAME safetensors_fuzz_replay COMMAND safetensors_fuzz_replay
         ${SBERT_SHARED_DIR}/reference/tiny-bert-st/model.safetensors
         ${CMAKE_CURRENT_LIST_DIR}/corpus/safetensors_fuzz/two_tensors.safetensors)
