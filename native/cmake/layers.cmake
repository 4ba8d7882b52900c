# The native engine's layers (ARCHITECTURE.md, "Native layers"), each a static library whose
# include path holds only itself and the layers below it:
#
#   base <- quants <- gguf <- model <- {cpu, cuda} <- loader <- napi
#
# so an #include that goes the wrong way does not compile. Headers are named "<layer>/file.h"
# relative to native/src; to expose one layer and not its neighbours, each layer's include
# directory is a folder in the build tree holding a single link named after the layer
# (<build>/layer_include/model/model -> native/src/model). A library adds its own folder and
# links the layer below it PUBLIC, which brings that layer's folder and everything under it.
# test/unit/native-layers.test.ts checks the #include lines as well, so a header that a compiler
# would reach some other way (a relative path, a copy) is caught too.
#
# Used by native/CMakeLists.txt and by the standalone fuzz build (native/fuzz/CMakeLists.txt).

get_filename_component(QWEN_SRC_DIR ${CMAKE_CURRENT_LIST_DIR}/../src ABSOLUTE)
set(QWEN_LAYER_INCLUDE ${CMAKE_BINARY_DIR}/layer_include)

# Sets <out> to the include directory that exposes native/src/<layer> and nothing else.
function(qwen_layer_include_dir layer out)
  set(dir ${QWEN_LAYER_INCLUDE}/${layer})
  if(NOT IS_SYMLINK ${dir}/${layer})
    file(MAKE_DIRECTORY ${dir})
    file(CREATE_LINK ${QWEN_SRC_DIR}/${layer} ${dir}/${layer} SYMBOLIC)
  endif()
  set(${out} ${dir} PARENT_SCOPE)
endfunction()

# Portable baseline: plain x86-64 (or whatever the host compiler targets). Only files named
# *_avx2.cpp are compiled with AVX2/FMA/F16C, and *_avx512.cpp with those plus AVX-512 F/BW/VL/DQ
# and VNNI; both are only called after a runtime CPU check, so one binary runs on every x86-64
# machine.
function(qwen_simd_source_flags)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    return()
  endif()
  foreach(src ${ARGN})
    if(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    endif()
    # GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own undefined-vector
    # placeholders (GCC bug 105593, fixed in 13), so that warning is off for these files only.
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-Wno-maybe-uninitialized")
    endif()
  endforeach()
endfunction()

# qwen_add_layer(<target> <layer> [LINKS <targets>...] [OPTIONS <compile options>...])
# A static library of native/src/<layer>/*.cpp that sees <layer> and what LINKS brings.
# OPTIONS are PUBLIC, so the sanitizer flags of the fuzz build reach every layer and executable.
function(qwen_add_layer target layer)
  cmake_parse_arguments(L "" "" "LINKS;OPTIONS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${QWEN_SRC_DIR}/${layer}/*.cpp)
  qwen_simd_source_flags(${srcs})
  add_library(${target} STATIC ${srcs})
  qwen_layer_include_dir(${layer} inc)
  target_include_directories(${target} PUBLIC ${inc})
  target_link_libraries(${target} PUBLIC ${L_LINKS})
  target_compile_options(${target} PUBLIC ${L_OPTIONS})
endfunction()

# <prefix>base, <prefix>quants, <prefix>gguf, <prefix>model and <prefix>cpu: everything below the
# GPU backend and the loader.
function(qwen_add_cpu_layers prefix)
  cmake_parse_arguments(L "" "" "OPTIONS" ${ARGN})
  find_package(Threads REQUIRED)
  qwen_add_layer(${prefix}base base LINKS Threads::Threads OPTIONS ${L_OPTIONS})
  qwen_add_layer(${prefix}quants quants LINKS ${prefix}base OPTIONS ${L_OPTIONS})
  qwen_add_layer(${prefix}gguf gguf LINKS ${prefix}quants OPTIONS ${L_OPTIONS})
  qwen_add_layer(${prefix}model model LINKS ${prefix}gguf OPTIONS ${L_OPTIONS})
  qwen_add_layer(${prefix}cpu cpu LINKS ${prefix}model OPTIONS ${L_OPTIONS})
endfunction()

# <prefix>loader over <prefix>cpu and, when <cuda_target> names one, the CUDA backend
# (QWEN_HAVE_CUDA then tells the loader, and whatever links it, that the GPU path exists).
function(qwen_add_loader_layer prefix cuda_target)
  cmake_parse_arguments(L "" "" "OPTIONS" ${ARGN})
  qwen_add_layer(${prefix}loader loader LINKS ${prefix}cpu ${cuda_target} OPTIONS ${L_OPTIONS})
  if(cuda_target)
    target_compile_definitions(${prefix}loader PUBLIC QWEN_HAVE_CUDA=1)
  endif()
endfunction()
