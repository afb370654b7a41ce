# Scenes, the plugin loader, the frame loop and the CLI (engine/app, engine/config/scene.c).
set(NNXR_TEST_PLUGINS ${CMAKE_BINARY_DIR}/test-plugins)
foreach(p wrong_abi no_entry create_fails)
  add_library(test_plugin_${p} MODULE ${NNXR_TEST_SRC}/plugins/${p}.c)
  set_target_properties(test_plugin_${p} PROPERTIES PREFIX "" OUTPUT_NAME "test.${p}"
    LIBRARY_OUTPUT_DIRECTORY ${NNXR_TEST_PLUGINS} C_VISIBILITY_PRESET hidden)
  target_include_directories(test_plugin_${p} PRIVATE ${CMAKE_SOURCE_DIR}/engine/include)
endforeach()

set(EXPECT python3 ${NNXR_TEST_SRC}/expect.py --env NNXR_PLUGIN_PATH=${NNXR_TEST_PLUGINS})
set(SCN ${NNXR_TEST_SRC}/scenes)

nnxr_add_test(test_scene SOURCES ${NNXR_TEST_SRC}/unit/test_scene.c)

# nnxr check on bad input: one test per kind, each asserting the message and the exit code.
nnxr_add_script_test(scene_bad_syntax COMMAND ${EXPECT} --exit 1
  --stderr "bad_syntax.toml:3:" -- $<TARGET_FILE:nnxr> check ${SCN}/bad_syntax.toml)
nnxr_add_script_test(scene_unknown_key COMMAND ${EXPECT} --exit 1
  --stderr "unknown_key.toml:3:1: [train]: unknown key 'lrate' (did you mean 'lr'?)"
  -- $<TARGET_FILE:nnxr> check ${SCN}/unknown_key.toml)
nnxr_add_script_test(scene_unknown_table COMMAND ${EXPECT} --exit 1
  --stderr "unknown_table.toml:1:2: unknown table or key 'trian' (did you mean 'train'?)"
  -- $<TARGET_FILE:nnxr> check ${SCN}/unknown_table.toml)
nnxr_add_script_test(scene_wrong_type COMMAND ${EXPECT} --exit 1
  --stderr "wrong_type.toml:3:1: [train] batch: expected an integer in [1, 65536], got a string"
  -- $<TARGET_FILE:nnxr> check ${SCN}/wrong_type.toml)
nnxr_add_script_test(scene_out_of_range COMMAND ${EXPECT} --exit 1
  --stderr "out_of_range.toml:2:1: [train] lr: expected a number in [0, 10], got -1"
  -- $<TARGET_FILE:nnxr> check ${SCN}/out_of_range.toml)
nnxr_add_script_test(scene_bad_choice COMMAND ${EXPECT} --exit 1
  --stderr "bad_choice.toml:2:1: [model] kind: expected one of \"none\", \"mlp\", \"cnn\", \"vae\", got \"mpl\" (did you mean \"mlp\"?)"
  -- $<TARGET_FILE:nnxr> check ${SCN}/bad_choice.toml)
nnxr_add_script_test(scene_short_array COMMAND ${EXPECT} --exit 1
  --stderr "short_array.toml:2:1: [view] background: expected 3 numbers, got 2"
  -- $<TARGET_FILE:nnxr> check ${SCN}/short_array.toml)
nnxr_add_script_test(scene_plugin_no_id COMMAND ${EXPECT} --exit 1
  --stderr "plugin_no_id.toml:1:1: [[plugin]] #1: missing key 'id'"
  -- $<TARGET_FILE:nnxr> check ${SCN}/plugin_no_id.toml)
nnxr_add_script_test(scene_unknown_plugin COMMAND ${EXPECT} --exit 1
  --stderr "[[plugin]] #1: plugin 'nnxr.nonexistent' not found: no nnxr.nonexistent.so in"
  -- $<TARGET_FILE:nnxr> check ${SCN}/unknown_plugin.toml)
nnxr_add_script_test(scene_plugin_wrong_abi COMMAND ${EXPECT} --exit 1
  --stderr "plugin 'test.wrong_abi' (${NNXR_TEST_PLUGINS}/test.wrong_abi.so) refused: was built for plugin ABI version 99, this nnxr speaks version 1"
  -- $<TARGET_FILE:nnxr> check ${SCN}/wrong_abi.toml)
nnxr_add_script_test(scene_plugin_no_entry COMMAND ${EXPECT} --exit 1
  --stderr "plugin 'test.no_entry' (${NNXR_TEST_PLUGINS}/test.no_entry.so) refused: has no 'nnxr_entry' symbol"
  -- $<TARGET_FILE:nnxr> check ${SCN}/no_entry.toml)
nnxr_add_script_test(scene_plugin_create_fails COMMAND ${EXPECT} --exit 1
  --stderr "plugin 'test.create_fails' (${NNXR_TEST_PLUGINS}/test.create_fails.so) refused: its create failed: the test asked it to fail"
  -- $<TARGET_FILE:nnxr> check ${SCN}/create_fails.toml)
nnxr_add_script_test(scene_plugin_unknown_key COMMAND ${EXPECT} --exit 1
  --stderr "plugin_unknown_key.toml:3:1: [[plugin]] #1 (nnxr.example): unknown key 'colour' (did you mean 'color'?)"
  -- $<TARGET_FILE:nnxr> check ${SCN}/plugin_unknown_key.toml)
nnxr_add_script_test(scene_plugin_bad_value COMMAND ${EXPECT} --exit 1
  --stderr "plugin_bad_value.toml:3:10: [[plugin]] #1 (nnxr.example) color[0]: expected a number in [0, 1], got 2"
  -- $<TARGET_FILE:nnxr> check ${SCN}/plugin_bad_value.toml)
nnxr_add_script_test(scene_check_default COMMAND ${EXPECT} --exit 0
  --stdout "[train]" --stdout "lr = 0.05" --stdout "id = \"nnxr.example\"" --stdout "pulse_hz = 0.5"
  -- $<TARGET_FILE:nnxr> check ${CMAKE_SOURCE_DIR}/configs/default.toml)
# Every shipped scene is valid, its plugins' keys included (each takes its plugins' create).
file(GLOB NNXR_SHIPPED_SCENES ${CMAKE_SOURCE_DIR}/configs/*.toml)
foreach(scene ${NNXR_SHIPPED_SCENES})
  get_filename_component(name ${scene} NAME_WE)
  nnxr_add_script_test(shipped_scene_${name} GPU COMMAND ${EXPECT} --exit 0 --stdout "[scene]"
    -- $<TARGET_FILE:nnxr> check ${scene})
endforeach()
nnxr_add_script_test(scene_missing_file COMMAND ${EXPECT} --exit 1
  --stderr "no_such_scene.toml: cannot open"
  -- $<TARGET_FILE:nnxr> check ${SCN}/no_such_scene.toml)

# The CLI's own contract.
nnxr_add_script_test(cli_version COMMAND ${EXPECT} --stdout "nnxr ${PROJECT_VERSION}"
  -- $<TARGET_FILE:nnxr> --version)
nnxr_add_script_test(cli_unknown_command COMMAND ${EXPECT} --exit 2
  --stderr "unknown command 'frobnicate'" -- $<TARGET_FILE:nnxr> frobnicate)
foreach(c run check devices plugins toml-json)
  nnxr_add_script_test(cli_help_${c} COMMAND ${EXPECT} --stdout "usage: nnxr ${c}"
    -- $<TARGET_FILE:nnxr> ${c} --help)
endforeach()
nnxr_add_script_test(cli_run_bad_option COMMAND ${EXPECT} --exit 2
  --stderr "unknown option '--fast'" -- $<TARGET_FILE:nnxr> run ${SCN}/x.toml --fast)
nnxr_add_script_test(cli_plugins COMMAND ${EXPECT}
  --stdout "nnxr.example" --stdout "test.create_fails" --stdout "refused: was built for plugin ABI version 99"
  -- $<TARGET_FILE:nnxr> plugins)

# Headless runs: every output file, the plugin's calls in order, the picture it drew.
nnxr_add_script_test(run_default_headless GPU COMMAND python3 ${NNXR_TEST_SRC}/run_check.py
  --nnxr $<TARGET_FILE:nnxr> --scene ${CMAKE_SOURCE_DIR}/configs/default.toml
  --out ${NNXR_TEST_OUT}/run_default --frames 10)
nnxr_add_script_test(run_plugin_calls GPU COMMAND python3 ${NNXR_TEST_SRC}/run_plugin_calls.py
  --nnxr $<TARGET_FILE:nnxr> --out ${NNXR_TEST_OUT}/run_plugin_calls)

# docs/scenes.md carries the schema's own Markdown, so the reference cannot drift from the code.
nnxr_add_script_test(docs_scenes_in_sync COMMAND python3 ${NNXR_TEST_SRC}/docs_in_sync.py
  ${CMAKE_SOURCE_DIR}/docs/scenes.md $<TARGET_FILE:nnxr> check --schema)

# An install is a working prefix: plugins and shipped scenes are found there by name.
nnxr_add_script_test(install_prefix GPU COMMAND sh -c "
  rm -rf '${CMAKE_BINARY_DIR}/test-install' &&
  '${CMAKE_COMMAND}' --install '${CMAKE_BINARY_DIR}' --prefix '${CMAKE_BINARY_DIR}/test-install' >/dev/null &&
  cd '${NNXR_TEST_OUT}' &&
  '${CMAKE_BINARY_DIR}/test-install/bin/nnxr' plugins | grep -q 'test-install/lib/nnxr/plugins/nnxr.example.so' &&
  '${CMAKE_BINARY_DIR}/test-install/bin/nnxr' run default --headless --frames 2 --out install_run --validate &&
  test -f install_run/frames/000001.png && test -f '${CMAKE_BINARY_DIR}/test-install/include/nnxr/plugin.h' &&
  echo '1 passed, 0 failed'")
nnxr_add_script_test(run_progress GPU COMMAND python3 ${NNXR_TEST_SRC}/run_progress.py
  --nnxr $<TARGET_FILE:nnxr> --out ${NNXR_TEST_OUT}/run_progress)
