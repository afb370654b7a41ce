# The renderer (engine/render, shaders/render): drawing primitives checked for meaning on the
# device, the window target, and the visual plugins' pictures.
nnxr_add_test(test_render_camera SOURCES ${NNXR_TEST_SRC}/unit/test_render_camera.c)
nnxr_add_test(test_render_draw SOURCES ${NNXR_TEST_SRC}/unit/test_render_draw.c GPU TIMEOUT 120)
nnxr_add_test(test_render_plugins SOURCES ${NNXR_TEST_SRC}/unit/test_render_plugins.c GPU
  TIMEOUT 120)
add_dependencies(test_render_plugins nnxr.graph_view nnxr.hud)

# The window target under Xvfb: a few frames, a screenshot (xwd, Debian's x11-apps) checked
# for the graph's nodes, a resize, and closing the window ends the run.
find_package(X11)
find_program(NNXR_XVFB_RUN xvfb-run)
if(X11_FOUND AND NNXR_XVFB_RUN)
  add_executable(x11_window ${NNXR_TEST_SRC}/render/x11_window.c)
  target_link_libraries(x11_window PRIVATE X11::X11)
  nnxr_add_script_test(render_window_xvfb GPU TIMEOUT 180 COMMAND ${NNXR_XVFB_RUN} -a
    -s "-screen 0 1280x720x24" python3 ${NNXR_TEST_SRC}/render/window_xvfb.py
    --nnxr $<TARGET_FILE:nnxr> --x11 $<TARGET_FILE:x11_window>
    --out ${NNXR_TEST_OUT}/render_window)
  add_dependencies(x11_window nnxr.graph_view)
else()
  message(WARNING "render_window_xvfb test left out: needs libx11-dev and xvfb")
endif()

# Every shipped scene of the renderer runs headless and its picture means what it says
# (aiive.toml trains a model: it needs the trainer and Debian's Fashion-MNIST).
foreach(scene graph_view aiive)
  nnxr_add_script_test(render_scene_${scene} GPU TIMEOUT 300 COMMAND python3
    ${NNXR_TEST_SRC}/render/scenes.py --nnxr $<TARGET_FILE:nnxr> --scene ${scene}
    --configs ${CMAKE_SOURCE_DIR}/configs --out ${NNXR_TEST_OUT}/render_scenes)
endforeach()

# mode = "window" without a display is refused with the reason; --headless still runs it.
nnxr_add_script_test(render_window_no_display COMMAND env -u DISPLAY -u WAYLAND_DISPLAY
  python3 ${NNXR_TEST_SRC}/expect.py --exit 1
  --stderr "mode = \"window\": cannot open a window: no display"
  -- $<TARGET_FILE:nnxr> run ${NNXR_TEST_SRC}/render/window_mode.toml
  --out ${NNXR_TEST_OUT}/render_window_no_display)

# [view] stereo on the headless target: two eyes side by side with the parallax they should
# have, against a mono run of the same scene.
nnxr_add_script_test(render_stereo GPU TIMEOUT 300 COMMAND python3
  ${NNXR_TEST_SRC}/render/stereo.py --nnxr $<TARGET_FILE:nnxr>
  --scene ${NNXR_TEST_SRC}/render/stereo.toml --out ${NNXR_TEST_OUT}/render_stereo)
