// render/common.glsl — what the renderer's shaders share (engine/render/draw.c fills it):
// the per-view push constants, the per-batch parameters, the instance / position / label
// buffers and the image, and the colour tables of nnxr/draw.h (kept identical to it).

layout(push_constant) uniform ViewPC {
    mat4 view_proj;
    vec4 right; // xyz: camera right in world space; w: viewport width in pixels
    vec4 up;    // xyz: camera up; w: viewport height in pixels
    vec4 eye;   // xyz: camera position; w: pixels per world unit at distance 1
} pc;

layout(std430, set = 0, binding = 0) readonly buffer Instances { float inst[]; };
layout(std430, set = 0, binding = 1) readonly buffer Positions { float positions[]; };
layout(std430, set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 3) uniform sampler2D image;
layout(std140, set = 0, binding = 4) uniform Batch {
    uvec4 src;   // position offset, stride (floats); label offset, stride (ints)
    uvec4 mode;  // x flags (1 positions, 2 labels, 4 has image), y space, z shade, w atlas columns
    vec4 style;  // x glow, y range lo, z range hi, w lod pixels
    vec4 cell;   // xy atlas cell size in uv, z cube faces, w unused
} batch;

// The shading of quads and cubes, fixed per pipeline so that a pixel pays only for its own
// (engine/render/draw.c makes one pipeline per shade in use).
layout(constant_id = 1) const uint SHADE = 0u;

#define SPACE_WORLD 0u
#define SPACE_BILLBOARD 1u
#define SPACE_SCREEN 2u

#define SHADE_SOLID 0u
#define SHADE_TEXTURE 1u
#define SHADE_GREY 2u
#define SHADE_MASK 3u
#define SHADE_VIRIDIS 4u
#define SHADE_DIVERGING 5u

float srgb_to_linear(float c)
{
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

vec3 srgb_to_linear3(vec3 c)
{
    return vec3(srgb_to_linear(c.r), srgb_to_linear(c.g), srgb_to_linear(c.b));
}

// Cheap sRGB decode for image values (per pixel): a cubic fit, exact at 0 and 1, within
// 0.003 of the true curve.
float srgb_fast(float c)
{
    return c * (c * (c * 0.305306011 + 0.682171111) + 0.012522878);
}

// The class colours of nnxr/draw.h already decoded to linear RGB (no pow per vertex: on a
// CPU device every transcendental in a vertex shader shows in the frame time).
vec3 class_color(int label)
{
    const vec3 t[11] = vec3[11](
        vec3(0.787412, 0.010023, 0.010023), vec3(0.010023, 0.170645, 0.787412),
        vec3(0.019607, 0.447988, 0.033105), vec3(1.000000, 0.318547, 0.003936),
        vec3(0.318547, 0.050876, 0.603827), vec3(0.003936, 0.603827, 0.603827),
        vec3(0.890005, 0.100482, 0.447988), vec3(0.318547, 0.132868, 0.019607),
        vec3(0.522522, 0.692071, 0.010023), vec3(0.010023, 0.050876, 0.170645),
        vec3(0.214041, 0.214041, 0.214041));
    return t[label < 0 ? 10 : label % 10];
}

vec3 viridis(float t)
{
    const vec3 v[9] = vec3[9](
        vec3(0.267004, 0.004874, 0.329415), vec3(0.282623, 0.140926, 0.457517),
        vec3(0.229739, 0.322361, 0.545706), vec3(0.172719, 0.448791, 0.557885),
        vec3(0.127568, 0.566949, 0.550556), vec3(0.157851, 0.683765, 0.501686),
        vec3(0.369214, 0.788888, 0.382914), vec3(0.678489, 0.863742, 0.189503),
        vec3(0.993248, 0.906157, 0.143936));
    t = isnan(t) ? 0.0 : clamp(t, 0.0, 1.0);
    float x = t * 8.0;
    int i = min(int(x), 7);
    return srgb_to_linear3(mix(v[i], v[i + 1], x - float(i)));
}

vec3 diverging(float t)
{
    // blue (0) – white (0.5) – red (1), interpolated in sRGB like viridis
    t = isnan(t) ? 0.5 : clamp(t, 0.0, 1.0);
    vec3 c = t < 0.5 ? mix(vec3(0.13, 0.35, 0.85), vec3(0.97), t * 2.0)
                     : mix(vec3(0.97), vec3(0.85, 0.15, 0.12), t * 2.0 - 1.0);
    return srgb_to_linear3(c);
}

vec3 instance_pos(uint i, uint base)
{
    if ((batch.mode.x & 1u) != 0u) {
        uint o = batch.src.x + i * batch.src.y;
        return vec3(positions[o], positions[o + 1u], positions[o + 2u]);
    }
    return vec3(inst[base], inst[base + 1u], inst[base + 2u]);
}

vec4 instance_color(uint i, uint at)
{
    vec4 c = vec4(inst[at], inst[at + 1u], inst[at + 2u], inst[at + 3u]);
    if ((batch.mode.x & 2u) != 0u)
        c.rgb = class_color(labels[batch.src.z + i * batch.src.w]);
    return c;
}

vec4 to_clip(vec3 p)
{
    if (batch.mode.y == SPACE_SCREEN)
        return vec4(p.x / pc.right.w * 2.0 - 1.0, p.y / pc.up.w * 2.0 - 1.0, 0.0, 1.0);
    return pc.view_proj * vec4(p, 1.0);
}

// A pixel of an image-shaded primitive; `cube` lifts black so the tint still shows.
vec4 shade(vec2 uv, vec4 c, bool cube)
{
    const uint s = SHADE;
    if (s == SHADE_SOLID || (batch.mode.x & 4u) == 0u)
        return c;
    vec4 t = texture(image, uv);
    if (s == SHADE_TEXTURE)
        return t * c;
    if (s == SHADE_GREY) {
        float v = srgb_fast(t.r);
        return vec4(c.rgb * (cube ? 0.2 + 0.8 * v : v), c.a);
    }
    if (s == SHADE_MASK)
        return vec4(c.rgb, c.a * t.r);
    float span = batch.style.z - batch.style.y;
    float x = span != 0.0 ? (t.r - batch.style.y) / span : 0.5;
    return vec4(s == SHADE_VIRIDIS ? viridis(x) : diverging(x), c.a);
}
