# cmake -DA=<program> -DB=<program> -DARGS=<a;b;...> -P same_output.cmake: runs both programs
# with the same arguments and fails unless both succeed and print the same stdout (after
# removing what matches the regex IGNORE, e.g. a timing).
foreach(p A B)
  execute_process(COMMAND ${${p}} ${ARGS} OUTPUT_VARIABLE out_${p} RESULT_VARIABLE rc_${p})
  if(NOT rc_${p} EQUAL 0)
    message(FATAL_ERROR "${${p}} exited with ${rc_${p}}")
  endif()
  if(DEFINED IGNORE)
    string(REGEX REPLACE "${IGNORE}" "" out_${p} "${out_${p}}")
  endif()
endforeach()
if(NOT out_A STREQUAL out_B)
  message(FATAL_ERROR "outputs differ:\n--- ${A}\n${out_A}\n--- ${B}\n${out_B}")
endif()
message("same output: ${out_A}")
