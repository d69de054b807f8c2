"""Keras 3's own values for the loss cases on stdin (JSON), printed as JSON: one mean loss per case.

Each case: {"loss": name or "custom_scalar", "yTrue": [...], "yTrueShape": [...], "yPred": [...], "yPredShape": [...]}.
A loss is called the way compile() calls it (through keras.losses.get / LossFunctionWrapper), so label
shapes get Keras's squeeze-or-expand rule and the default sum_over_batch_size reduction.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import ops  # noqa: E402


def custom_scalar(y_true, y_pred):
    # The guide's custom loss: already a scalar mean.
    return ops.mean(ops.square(y_true - y_pred))


def main():
    cases = json.load(sys.stdin)
    out = []
    for c in cases:
        y = np.array(c["yTrue"], dtype="float32").reshape(c["yTrueShape"])
        p = np.array(c["yPred"], dtype="float32").reshape(c["yPredShape"])
        if c["loss"] == "custom_scalar":
            # What compile() wraps a plain function in.
            from keras.src.losses.losses import LossFunctionWrapper

            fn = LossFunctionWrapper(custom_scalar)
        else:
            fn = keras.losses.get({"class_name": c["loss"], "config": {}})
        out.append(float(ops.convert_to_numpy(fn(y, p))))
    print(json.dumps(out))


main()
