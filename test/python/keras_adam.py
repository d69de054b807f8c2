"""Keras 3's Adam on the cases on stdin (JSON), printed as JSON.

{"tiny": {"grad": g, "lr": lr}} -> the weight after one step from 0 on gradient g;
{"mlp": {"weights": [{"shape","data"}...], "x","xShape","y","lr","batch"}} -> the guide's MLP (Dropout 0)
trained one epoch on x, y in order with keras.optimizers.Adam, weights returned flat in order.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402


def tiny(c):
    v = keras.Variable(np.zeros((1,), dtype="float32"))
    opt = keras.optimizers.Adam(learning_rate=c["lr"])
    opt.apply([np.array([c["grad"]], dtype="float32")], [v])
    return float(keras.ops.convert_to_numpy(v)[0])


def mlp(c):
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.0),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.0),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.set_weights([np.array(w["data"], dtype="float32").reshape(w["shape"]) for w in c["weights"]])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=c["lr"]), loss="sparse_categorical_crossentropy")
    x = np.array(c["x"], dtype="float32").reshape(c["xShape"])
    y = np.array(c["y"], dtype="float32")
    model.fit(x, y, batch_size=c["batch"], epochs=1, shuffle=False, verbose=0)
    return [np.asarray(w).reshape(-1).tolist() for w in model.get_weights()]


cases = json.load(sys.stdin)
out = {}
if "tiny" in cases:
    out["tiny"] = tiny(cases["tiny"])
if "mlp" in cases:
    out["mlp"] = mlp(cases["mlp"])
print(json.dumps(out))
