// sim/merge_labels.comp — machine labels (the classifier's predictions, −1 = none) into the
// label buffer, but never where a user decided the label (user flag set). Predictions outside
// [0, classes) become −1.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Pred { int pred[]; };
layout(std430, set = 0, binding = 1) buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 2) readonly buffer User { uint user[]; };
layout(push_constant) uniform Push { uint n; int classes; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n || user[i] != 0u)
        return;
    int p = pred[i];
    labels[i] = (p >= 0 && p < pc.classes) ? p : -1;
}
