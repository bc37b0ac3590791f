# Snappy, Zstandard and zlib for the Parquet reader, LZ4 (frames) and Zstandard for compressed
# Arrow IPC bodies, as imported targets sbert_codec::snappy, sbert_codec::zstd,
# sbert_codec::lz4 and ZLIB::ZLIB. Found by header and library name, so it works whether or
# not a distribution ships CMake configs for them; sbertConfig.cmake includes it again.
include_guard(GLOBAL)
find_package(ZLIB REQUIRED)
function(_sbert_codec name header lib)
  if(TARGET sbert_codec::${name})
    return()
  endif()
  find_path(SBERT_${name}_INCLUDE_DIR NAMES ${header})
  find_library(SBERT_${name}_LIBRARY NAMES ${lib})
  if(NOT SBERT_${name}_INCLUDE_DIR OR NOT SBERT_${name}_LIBRARY)
    message(FATAL_ERROR "sbert: ${name} not found (${header}, lib${lib}); on Debian: apt-get install lib${name}-dev")
  endif()
  add_library(sbert_codec::${name} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(sbert_codec::${name} PROPERTIES
    IMPORTED_LOCATION "${SBERT_${name}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SBERT_${name}_INCLUDE_DIR}")
endfunction()
_sbert_codec(snappy snappy-c.h snappy)
_sbert_codec(zstd zstd.h zstd)
_sbert_codec(lz4 lz4frame.h lz4)
