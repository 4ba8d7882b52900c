# libFuzzer target for the GGUF parser inside the main native build. Include it from
# native/CMakeLists.txt after qwen_core is defined:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/cmake/fuzz.cmake OPTIONAL)
# and configure with clang:
#   cmake -S native -B build/libfuzzer -DQWEN_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
#   cmake --build build/libfuzzer --target gguf_fuzz -j2
#   ./build/libfuzzer/gguf_fuzz -max_len=8192 native/fuzz/corpus
# The g++-only mutation loop (scripts/fuzz-gguf.sh) does not need this file.
option(QWEN_FUZZ "Build the libFuzzer GGUF target (clang only; instruments qwen_core)" OFF)

if(QWEN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "QWEN_FUZZ needs clang for libFuzzer: configure with "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(QWEN_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  # Coverage and sanitizers go into the library under test, and travel to everything linking it
  # (the native tests too, so they run sanitized in this configuration).
  target_compile_options(qwen_core PUBLIC ${QWEN_FUZZ_FLAGS})
  target_link_options(qwen_core PUBLIC -fsanitize=fuzzer-no-link,address,undefined)

  add_executable(gguf_fuzz ${CMAKE_CURRENT_LIST_DIR}/../fuzz/gguf_fuzz.cpp)
  target_compile_options(gguf_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(gguf_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(gguf_fuzz PRIVATE qwen_core)
endif()
