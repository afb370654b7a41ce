# Tests of the running latent cloud (engine/app/cloud.c, engine/sim/entropy.c,
# plugins/annotator, configs/latent_cloud.toml).
#   test_cloud_unit     entropy kernel vs a CPU sum; k-NN accuracy vs known answers/brute force
#   latent_cloud_run    `nnxr run` of the latent cloud scene (a smaller copy) with the simulated
#                       annotator: rising latent k-NN, journal = labels.npy = labels.csv, a
#                       kill -9 and a rerun into the same folder keeping every annotation
#   latent_cloud_labels the scene with and without the annotator, the same optimizer steps:
#                       the latent k-NN is higher with the labels
#   latent_cloud_full_run  the scene over all of Fashion-MNIST (69,000 points): runs, bounded
#                       memory, outputs for every point
nnxr_add_test(test_cloud_unit SOURCES ${NNXR_TEST_SRC}/unit/test_cloud_unit.c GPU TIMEOUT 60)
nnxr_add_script_test(latent_cloud_run GPU TIMEOUT 900 COMMAND python3
  ${NNXR_TEST_SRC}/unit/test_cloud_run.py --nnxr $<TARGET_FILE:nnxr>
  --scene ${CMAKE_SOURCE_DIR}/configs/latent_cloud.toml --out ${NNXR_TEST_OUT}/latent_cloud_run)
set_tests_properties(latent_cloud_run PROPERTIES SKIP_RETURN_CODE 77)

# [cloud] keys: bad values name file:line:column and the key.
set(CLOUD_EXPECT python3 ${NNXR_TEST_SRC}/expect.py)
set(CLOUD_SCN ${NNXR_TEST_SRC}/scenes)
nnxr_add_script_test(cloud_scene_out_of_range COMMAND ${CLOUD_EXPECT} --exit 1
  --stderr "cloud_out_of_range.toml:3:1: [cloud] k_r: expected a number in [0, 1e+06], got -0.5"
  -- $<TARGET_FILE:nnxr> check ${CLOUD_SCN}/cloud_out_of_range.toml)
nnxr_add_script_test(cloud_scene_unknown_key COMMAND ${CLOUD_EXPECT} --exit 1
  --stderr "cloud_unknown_key.toml:3:1: [cloud]: unknown key 'steps_per_frme' (did you mean 'steps_per_frame'?)"
  -- $<TARGET_FILE:nnxr> check ${CLOUD_SCN}/cloud_unknown_key.toml)
nnxr_add_script_test(cloud_scene_needs_vae COMMAND ${CLOUD_EXPECT} --exit 1
  --stderr "cloud_needs_vae.toml:10:1: [cloud] enabled: the latent cloud needs a vae model"
  -- $<TARGET_FILE:nnxr> check ${CLOUD_SCN}/cloud_needs_vae.toml)
nnxr_add_script_test(cloud_scene_latent_dim COMMAND ${CLOUD_EXPECT} --exit 1
  --stderr "cloud_latent_dim.toml:11:1: [cloud] enabled: the latent cloud needs [model] latent_dim = 3"
  -- $<TARGET_FILE:nnxr> check ${CLOUD_SCN}/cloud_latent_dim.toml)
# The annotator refuses a scene without a cloud, saying why (this one trains a vae: needs
# Fashion-MNIST and the GPU).
nnxr_add_script_test(cloud_annotator_no_cloud GPU COMMAND ${CLOUD_EXPECT} --exit 1
  --stderr "plugin 'nnxr.annotator'"
  --stderr "refused: its create failed: [[plugin]] #1 (nnxr.annotator): this scene has no latent cloud"
  -- $<TARGET_FILE:nnxr> check ${CLOUD_SCN}/cloud_annotator_no_cloud.toml)
nnxr_add_test(test_cloud_app SOURCES ${NNXR_TEST_SRC}/unit/test_cloud_app.c GPU TIMEOUT 120)
set_tests_properties(test_cloud_app PROPERTIES SKIP_RETURN_CODE 77)
# All of Fashion-MNIST (configs/latent_cloud_full.toml): 69,000 points in a running scene.
nnxr_add_script_test(latent_cloud_full_run GPU TIMEOUT 1200 COMMAND python3
  ${NNXR_TEST_SRC}/unit/test_cloud_full.py --nnxr $<TARGET_FILE:nnxr>
  --scene ${CMAKE_SOURCE_DIR}/configs/latent_cloud_full.toml
  --out ${NNXR_TEST_OUT}/latent_cloud_full_run)
set_tests_properties(latent_cloud_full_run PROPERTIES SKIP_RETURN_CODE 77)
# Labels shape the latent: the scene with and without the annotator, same steps (~4 minutes).
nnxr_add_script_test(latent_cloud_labels GPU TIMEOUT 1800 COMMAND python3
  ${NNXR_TEST_SRC}/unit/test_cloud_labels.py --nnxr $<TARGET_FILE:nnxr>
  --scene ${CMAKE_SOURCE_DIR}/configs/latent_cloud.toml
  --out ${NNXR_TEST_OUT}/latent_cloud_labels)
set_tests_properties(latent_cloud_labels PROPERTIES SKIP_RETURN_CODE 77)
