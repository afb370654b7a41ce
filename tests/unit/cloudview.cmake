# The latent cloud plugin (plugins/latent_cloud) through its real .so with a fake cloud and
# model: cube colours and images, machine vs user labels, uncertain markers, annotation
# spheres, a new generation, the legend, config errors. `test_render_cloud --bench` times it.
nnxr_add_test(test_render_cloud SOURCES ${NNXR_TEST_SRC}/unit/test_render_cloud.c GPU
  TIMEOUT 120)
add_dependencies(test_render_cloud nnxr.latent_cloud)
