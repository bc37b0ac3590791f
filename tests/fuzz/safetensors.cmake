# The safetensors header fuzzer (included from tests/fuzz/CMakeLists.txt; self-contained).
# clang: a real libFuzzer binary (run it by hand: ./safetensors_fuzz -max_total_time=60).
# Any compiler: the same target with a replay/mutation driver, registered with ctest.
if(CMAKE_CXX_COMPILER_ID MATCHES Clang)
  add_executable(safetensors_fuzz ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cpp)
  target_link_libraries(safetensors_fuzz PRIVATE sbert::core)
  target_compile_options(safetensors_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(safetensors_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
add_executable(safetensors_fuzz_replay ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cpp)
target_link_libraries(safetensors_fuzz_replay PRIVATE sbert::core)
target_compile_definitions(safetensors_fuzz_replay PRIVATE SBERT_FUZZ_STANDALONE)
add_test(NAME safetensors_fuzz_replay COMMAND safetensors_fuzz_replay
         ${SBERT_SHARED_DIR}/reference/tiny-bert-st/model.safetensors)
