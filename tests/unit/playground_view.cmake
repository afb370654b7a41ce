# The playground plugin (plugins/playground): its GPU grid pass against a CPU forward pass,
# its pictures checked for meaning with a fake model, and the shipped playground scenes run
# headless with their last picture checked.
nnxr_add_test(test_render_playground SOURCES ${NNXR_TEST_SRC}/unit/test_render_playground.c
  GPU TIMEOUT 120)
target_include_directories(test_render_playground PRIVATE ${CMAKE_SOURCE_DIR}/plugins/playground)
add_dependencies(test_render_playground nnxr.playground)

foreach(scene playground playground_spiral)
  nnxr_add_script_test(render_scene_${scene} GPU TIMEOUT 300 COMMAND python3
    ${NNXR_TEST_SRC}/render/playground_scene.py --nnxr $<TARGET_FILE:nnxr> --scene ${scene}
    --configs ${CMAKE_SOURCE_DIR}/configs --out ${NNXR_TEST_OUT}/render_scenes)
endforeach()
