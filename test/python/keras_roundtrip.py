"""Python Keras's side of the saving round-trip tests (test/shared/saving/python-roundtrip.test.ts).

    .venv/bin/python test/python/keras_roundtrip.py predict JOBS.json
        For each job {model | json, weights?, inputs, out}: keras.models.load_model(model) (compiled when the
        file says so) or keras.models.model_from_json(text of json); with `weights`, every variable is zeroed
        and then model.load_weights(weights) refills it.
        Writes {"shape", "data", "compiled"} predictions for `inputs` to `out`.
    .venv/bin/python test/python/keras_roundtrip.py make OUTDIR
        Builds, trains a few steps and saves two models (Conv2D/BatchNorm/MaxPool/Dropout Sequential and a
        functional LSTM) as legacy .h5 and .keras, with inputs and predictions as JSON beside them.

Arrays travel as JSON {"shape": [...], "data": [flat row-major floats]}: small and dependency-free.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def read_array(path):
    with open(path) as f:
        d = json.load(f)
    return np.asarray(d["data"], dtype="float32").reshape(d["shape"])


def write_array(path, a, **extra):
    a = np.asarray(a, dtype="float32")
    with open(path, "w") as f:
        json.dump({"shape": list(a.shape), "data": a.ravel().tolist(), **extra}, f)


def predict(jobs_file):
    with open(jobs_file) as f:
        jobs = json.load(f)
    for job in jobs:
        if "json" in job:
            with open(job["json"]) as f:
                model = keras.models.model_from_json(f.read())
        else:
            model = keras.models.load_model(job["model"])
        if job.get("weights"):
            for v in model.weights:
                v.assign(np.zeros(v.shape, dtype=v.dtype))
            model.load_weights(job["weights"])
        compiled = getattr(model, "optimizer", None) is not None and getattr(model, "loss", None) is not None
        y = model.predict(read_array(job["inputs"]), verbose=0)
        extra = {"compiled": bool(compiled)}
        if compiled:
            extra["optimizer"] = type(model.optimizer).__name__
            extra["loss"] = model.loss if isinstance(model.loss, str) else type(model.loss).__name__
        write_array(job["out"], y, **extra)
        print("predicted", job.get("model") or job["json"], job.get("weights") or "", y.shape)


def make(outdir):
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    os.makedirs(outdir, exist_ok=True)

    seq = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.2),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax"),
        ],
        name="py_seq",
    )
    seq.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.normal(size=(16, 8, 8, 1)).astype("float32")
    seq.fit(x, rng.integers(0, 4, size=(16,)), batch_size=8, epochs=2, verbose=0)

    inp = keras.Input((6, 3), name="series")
    h = keras.layers.LSTM(5, name="lstm")(inp)
    out = keras.layers.Dense(2, name="head")(h)
    lstm = keras.Model(inp, out, name="py_lstm")
    lstm.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    xs = rng.normal(size=(12, 6, 3)).astype("float32")
    lstm.fit(xs, rng.normal(size=(12, 2)).astype("float32"), batch_size=4, epochs=2, verbose=0)

    for name, model, data in (("py_seq", seq, x[:5]), ("py_lstm", lstm, xs[:5])):
        model.save(os.path.join(outdir, name + ".h5"))
        model.save(os.path.join(outdir, name + ".keras"))
        write_array(os.path.join(outdir, name + "_x.json"), data)
        write_array(os.path.join(outdir, name + "_y.json"), model.predict(data, verbose=0))
        print("made", name)


if __name__ == "__main__":
    command, arg = sys.argv[1], sys.argv[2]
    {"predict": predict, "make": make}[command](arg)
