# Compiles every GLSL file under a folder to SPIR-V with glslc and embeds the words in a
# static library, looked up at run time by name ("nn/dense_fwd.comp").
function(nnxr_embed_shaders target dir)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS
    ${dir}/*.comp ${dir}/*.vert ${dir}/*.frag ${dir}/*.geom)
  set(spvs)
  set(names)
  foreach(src ${sources})
    file(RELATIVE_PATH rel ${dir} ${src})
    set(spv ${CMAKE_BINARY_DIR}/spirv/${rel}.spv)
    get_filename_component(spv_dir ${spv} DIRECTORY)
    add_custom_command(OUTPUT ${spv}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${spv_dir}
      COMMAND ${GLSLC} --target-env=vulkan1.2 -O -Werror -I${dir}/include -MD -MF ${spv}.d -o ${spv} ${src}
      DEPENDS ${src}
      DEPFILE ${spv}.d
      COMMENT "glslc ${rel}" VERBATIM)
    list(APPEND spvs ${spv})
    list(APPEND names ${rel})
  endforeach()
  set(out ${CMAKE_BINARY_DIR}/generated/${target}.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSPIRV_DIR=${CMAKE_BINARY_DIR}/spirv
            "-DNAMES=${names}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
    DEPENDS ${spvs} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
    COMMENT "embedding SPIR-V" VERBATIM)
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/engine)
endfunction()
