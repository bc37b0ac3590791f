# sbert_torch_version(<out-var>): the libtorch release the model card names.
#
# Debian's libtorch 1.13.1 ships torch/version.h and TorchConfigVersion.cmake that both say
# 1.13.0, so where dpkg owns the Torch package, its packaged version wins (1.13.1+dfsg-4 ->
# 1.13.1) as long as it agrees on major.minor; elsewhere (pytorch.org's libtorch, a source
# build) Torch_VERSION is right and is used.
function(sbert_torch_version out)
  set(version "${Torch_VERSION}")
  find_program(SBERT_DPKG_QUERY dpkg-query)
  mark_as_advanced(SBERT_DPKG_QUERY)
  if(SBERT_DPKG_QUERY AND Torch_DIR)
    execute_process(COMMAND ${SBERT_DPKG_QUERY} -S "${Torch_DIR}/TorchConfig.cmake"
                    OUTPUT_VARIABLE owner ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND owner MATCHES "^([^:,]+)")
      execute_process(COMMAND ${SBERT_DPKG_QUERY} -W "-f=\${Version}" "${CMAKE_MATCH_1}"
                      OUTPUT_VARIABLE deb ERROR_QUIET RESULT_VARIABLE rc)
      # [epoch:]upstream[+dfsg][-revision]
      if(rc EQUAL 0 AND deb MATCHES "^([0-9]+:)?([0-9]+\\.[0-9]+(\\.[0-9]+)?)")
        set(upstream "${CMAKE_MATCH_2}")
        string(REGEX MATCH "^[0-9]+\\.[0-9]+" mm_deb "${upstream}")
        string(REGEX MATCH "^[0-9]+\\.[0-9]+" mm_torch "${Torch_VERSION}")
        if(mm_deb STREQUAL mm_torch OR NOT Torch_VERSION)
          set(version "${upstream}")
        endif()
      endif()
    endif()
  endif()
  set(${out} "${version}" PARENT_SCOPE)
endfunction()
