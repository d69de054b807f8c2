"""Runs Keras 3's augmentation layers on fixed inputs with fixed transformations, for the cross-check
in test/shared/augment.test.ts.  Usage: keras_augment.py IN.json OUT.json

IN.json: {"shape": [n, h, w, c], "data": [...], "cases": [{"name", "layer", ...}]}; every case is
deterministic: rotation and zoom get factor pairs (a, a), whose "random" draw is exactly a; flip and
contrast get their transformation (flips, contrast factors) directly.  OUT.json: {name: [values]}.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402


def run(case, images):
    kind = case["layer"]
    if kind == "RandomFlip":
        layer = keras.layers.RandomFlip(mode=case["mode"])
        flips = np.array(case["flips"], dtype=bool).reshape(-1, 1, 1, 1)
        return layer.transform_images(images, {"flips": flips}, training=True)
    if kind == "RandomRotation":
        a = case["factor"]
        layer = keras.layers.RandomRotation(factor=(a, a), fill_mode=case["fill_mode"], interpolation=case["interpolation"], fill_value=case.get("fill_value", 0.0))
        return layer(images, training=True)
    if kind == "RandomZoom":
        layer = keras.layers.RandomZoom(height_factor=(case["height"], case["height"]), width_factor=(case["width"], case["width"]), fill_mode=case["fill_mode"], interpolation=case["interpolation"], fill_value=case.get("fill_value", 0.0))
        return layer(images, training=True)
    if kind == "RandomContrast":
        layer = keras.layers.RandomContrast(factor=0.5, value_range=tuple(case["value_range"]))
        factors = np.array(case["factors"], dtype="float32").reshape(-1, 1, 1, 1)
        return layer.transform_images(images, {"contrast_factor": factors}, training=True)
    raise ValueError(f"unknown layer {kind}")


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    images = np.array(spec["data"], dtype="float32").reshape(spec["shape"])
    out = {}
    for case in spec["cases"]:
        out[case["name"]] = np.asarray(keras.ops.convert_to_numpy(run(case, images)), dtype="float64").reshape(-1).tolist()
    with open(sys.argv[2], "w") as f:
        json.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "outputs": out}, f)


if __name__ == "__main__":
    main()
