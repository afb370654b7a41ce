/* tests/unit/test_render_camera.c — the desktop camera against known answers: it starts with
 * exactly nnxr_view_look_at's view, orbiting keeps the distance to the target and turns the
 * eye the stated angle, looking around keeps the eye, moving carries eye and target together
 * along the camera's axes, zoom scales the distance, reset goes home, and the pitch never
 * reaches the pole (where the view would flip). A stereo pair splits the viewport in halves,
 * puts the eyes ipd apart along the view's right axis, and sees a point with the parallax
 * and the vertical scale that geometry gives. */
#include <math.h>

#include "check.h"
#include "render/camera.h"
#include "render/offscreen.h"

/* Normalised device coordinates of world point p seen through v. */
static void project(const nnxr_view *v, const float p[3], double ndc[2])
{
    double e[4], c[4];
    for (int r = 0; r < 4; r++)
        e[r] = v->view[r] * p[0] + v->view[4 + r] * p[1] + v->view[8 + r] * p[2] + v->view[12 + r];
    for (int r = 0; r < 4; r++)
        c[r] = v->proj[r] * e[0] + v->proj[4 + r] * e[1] + v->proj[8 + r] * e[2] +
               v->proj[12 + r] * e[3];
    ndc[0] = c[0] / c[3];
    ndc[1] = c[1] / c[3];
}

static void test_stereo(void)
{
    float eye[3] = {0.0f, 0.0f, 4.0f}, at[3] = {0.0f, 0.0f, 0.0f};
    nnxr_view mono, st[2];
    nnxr_view_look_at(&mono, eye, at, 60.0f, 1281, 720);
    nnxr_view_stereo(&mono, 0.064f, st);
    CHECK(st[0].index == 0 && st[1].index == 1);
    CHECK(st[0].x == 0 && st[0].width == 640 && st[1].x == 640 && st[1].width == 641);
    CHECK(st[0].height == 720 && st[1].height == 720 && st[1].y == mono.y);
    CHECK_CLOSE(st[0].eye[0], -0.032, 1e-6);
    CHECK_CLOSE(st[1].eye[0], 0.032, 1e-6);
    CHECK_CLOSE(st[0].eye[2], 4.0, 1e-6);
    /* The target, 4 m ahead: each eye sees it displaced toward the other eye's side by
     * atan(0.032 / 4) against a half-width of tan(30°)·aspect. */
    double l[2], r[2], m[2];
    project(&st[0], at, l);
    project(&st[1], at, r);
    double aspect = 640.0 / 720.0, want = (0.032 / 4.0) / (tan(M_PI / 6) * aspect);
    CHECK_CLOSE(l[0], want, 1e-5);
    CHECK_CLOSE(r[0], -want * 640.0 / 641.0, 1e-5);
    /* Same vertical field of view: a point 1 m up has the same y in the mono and eye views. */
    float up[3] = {0.0f, 1.0f, 0.0f};
    project(&mono, up, m);
    project(&st[0], up, l);
    CHECK_CLOSE(l[1], m[1], 1e-6);
    /* Horizontally each eye's half is half as wide: an offset covers twice the NDC span. */
    float side[3] = {0.5f, 0.0f, 0.0f};
    double ls[2];
    project(&mono, side, m);
    project(&st[0], side, ls);
    project(&st[0], at, l);
    CHECK_CLOSE(ls[0] - l[0], 2.0 * m[0] * (1281.0 / 2.0) / 640.0, 1e-5);
}

static float dist(const float a[3], const float b[3])
{
    return sqrtf((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                 (a[2] - b[2]) * (a[2] - b[2]));
}

int main(void)
{
    float eye[3] = {1.0f, 2.0f, 4.0f}, at[3] = {0.5f, 0.0f, -1.0f};
    nnxr_camera c;
    nnxr_camera_init(&c, eye, at, 55.0f);
    nnxr_view a, b;
    nnxr_view_look_at(&a, eye, at, 55.0f, 640, 480);
    nnxr_camera_view(&c, 0, 0, 640, 480, &b);
    double worst = 0;
    for (int i = 0; i < 16; i++) {
        worst = fmax(worst, fabs(a.view[i] - b.view[i]));
        worst = fmax(worst, fabs(a.proj[i] - b.proj[i]));
    }
    CHECKF(worst < 1e-5, "camera view differs from look_at by %g", worst);
    float e[3];
    nnxr_camera_eye(&c, e);
    CHECK_CLOSE(dist(e, eye), 0.0, 1e-5);

    /* Orbit: a quarter turn about the target keeps the distance, and the eye moves 90°
     * around the vertical axis through the target. */
    nnxr_camera flat;
    float e0[3] = {0, 0, 5}, o[3] = {0, 0, 0};
    nnxr_camera_init(&flat, e0, o, 60.0f);
    nnxr_camera_orbit(&flat, -1.5707963f, 0.0f);
    nnxr_camera_eye(&flat, e);
    CHECK_CLOSE(e[0], 5.0, 1e-5);
    CHECK_CLOSE(e[1], 0.0, 1e-5);
    CHECK_CLOSE(e[2], 0.0, 1e-4);
    float f[3], r[3], u[3];
    nnxr_camera_axes(&flat, f, r, u);
    CHECK_CLOSE(f[0], -1.0, 1e-5); /* looking back at the target along −x */
    CHECK_CLOSE(u[1], 1.0, 1e-5);
    /* Pitch up by 30°: the eye rises to 5 sin 30°. */
    nnxr_camera_orbit(&flat, 0.0f, 0.5235988f);
    nnxr_camera_eye(&flat, e);
    CHECK_CLOSE(e[1], 2.5, 1e-5);
    CHECK_CLOSE(dist(e, o), 5.0, 1e-5);
    /* Never over the pole. */
    nnxr_camera_orbit(&flat, 0.0f, 10.0f);
    nnxr_camera_axes(&flat, f, r, u);
    CHECK(flat.pitch < 1.5708f && u[1] > 0.0f && isfinite(r[0]));

    /* Look: the eye stays, the target moves. */
    nnxr_camera_init(&flat, e0, o, 60.0f);
    nnxr_camera_look(&flat, 0.3f, 0.2f);
    nnxr_camera_eye(&flat, e);
    CHECK_CLOSE(dist(e, e0), 0.0, 1e-5);
    CHECK(dist(flat.target, o) > 0.5f);

    /* Move: right by 1 from (0,0,5) looking at −z lands at x = 1, target too. */
    nnxr_camera_init(&flat, e0, o, 60.0f);
    nnxr_camera_move(&flat, 1.0f, 0.0f, 2.0f);
    nnxr_camera_eye(&flat, e);
    CHECK_CLOSE(e[0], 1.0, 1e-5);
    CHECK_CLOSE(e[2], 3.0, 1e-5);
    CHECK_CLOSE(flat.target[0], 1.0, 1e-5);
    CHECK_CLOSE(flat.target[2], -2.0, 1e-5);

    /* Zoom and reset. */
    nnxr_camera_zoom(&flat, 0.5f);
    CHECK_CLOSE(flat.distance, 2.5, 1e-5);
    nnxr_camera_zoom(&flat, -3.0f); /* ignored */
    CHECK_CLOSE(flat.distance, 2.5, 1e-5);
    nnxr_camera_reset(&flat);
    nnxr_camera_eye(&flat, e);
    CHECK_CLOSE(dist(e, e0), 0.0, 1e-5);
    CHECK_CLOSE(dist(flat.target, o), 0.0, 1e-6);

    /* A degenerate start (eye on the target) still gives a usable camera. */
    nnxr_camera_init(&flat, o, o, 60.0f);
    nnxr_camera_eye(&flat, e);
    CHECK(isfinite(e[0]) && isfinite(e[1]) && isfinite(e[2]) && flat.distance > 0);
    test_stereo();
    return check_finish();
}
