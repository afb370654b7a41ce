# The activation grid plugin (plugins/activation_grid): its pictures read for meaning against
# a fake model, its GPU covariance against double precision, its Jacobi against known
# eigenvectors (the plugin's ag_math.c and ag_gpu.c are compiled into the test), and the
# shipped scene configs/cnn_activations.toml run headless.
set(NNXR_AG_DIR ${CMAKE_SOURCE_DIR}/plugins/activation_grid)
nnxr_add_test(test_render_activations SOURCES ${NNXR_TEST_SRC}/unit/test_render_activations.c
  ${NNXR_AG_DIR}/ag_math.c ${NNXR_AG_DIR}/ag_gpu.c GPU TIMEOUT 180)
target_include_directories(test_render_activations PRIVATE ${NNXR_AG_DIR})
add_dependencies(test_render_activations nnxr.activation_grid)

# Trains a small CNN on Fashion-MNIST for 120 frames (~35-55 s on 2 busy cores, plain or
# sanitized): needs the trainer, the HUD and Debian's dataset-fashion-mnist. Slow, like the
# other scenes that train.
nnxr_add_script_test(render_scene_cnn_activations GPU TIMEOUT 900 LABELS slow COMMAND python3
  ${NNXR_TEST_SRC}/render/activations_scene.py --nnxr $<TARGET_FILE:nnxr>
  --configs ${CMAKE_SOURCE_DIR}/configs --out ${NNXR_TEST_OUT}/render_scenes)
