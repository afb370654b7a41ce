#!/bin/sh
# Makes the README's pictures: each shipped scene run headless by the command the README
# shows, its last frame copied here. Usage: docs/img/make-pictures.sh [BUILD_DIR] (default
# build). Takes several minutes on a CPU Vulkan device (the CNN and the latent cloud train).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
nnxr=$root/${1:-build}/bin/nnxr
out=${TMPDIR:-/tmp}/nnxr-pictures
# scene frames
while read -r scene frames; do
  rm -rf "$out/$scene"
  echo "nnxr run configs/$scene.toml --headless --frames $frames --out $out/$scene"
  "$nnxr" run "$root/configs/$scene.toml" --headless --frames "$frames" --out "$out/$scene"
  cp "$out/$scene/frames/$(printf '%06d' $((frames - 1))).png" "$root/docs/img/$scene.png"
done <<SCENES
default 10
graph_view 60
aiive 120
playground 150
playground_spiral 300
mlp_fashion 150
cnn_activations 240
cnn_fashion 120
vae_latent 150
latent_cloud 300
latent_cloud_full 121
SCENES
