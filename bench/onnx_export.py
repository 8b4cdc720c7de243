"""Writes the benchmark's ONNX graphs for onnxruntime-web from the shipped .safetensors weights.

For each model, two graphs with the weights as initialisers (the same numbers the app runs):
  <name>.decode.onnx   z [B, L] -> x [B, 784], the decoder (what the latent grid runs, B = 400)
  <name>.drawing.onnx  x [1, 784] -> x [1, 784], encode, take mu, decode (one drawing)
The MLP is the seed's module (Linear-ReLU-Linear, decoder with a sigmoid); the conv net is
www/models' conv VAE: Conv2d(1,32,4,2,1)-ReLU-Conv2d(32,64,4,2,1)-ReLU-Flatten-Linear(3136,2L),
and Linear(L,3136)-ReLU-[64,7,7]-ConvTranspose2d(64,32,4,2,1)-ReLU-ConvTranspose2d(32,1,4,2,1)-Sigmoid.
ONNX's Conv/ConvTranspose take PyTorch's weight layouts as they are.

Usage: python bench/onnx_export.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"mnist-2d": "mnist-2d.safetensors", "conv-mnist-16d": "conv-mnist-16d.safetensors"}
OPSET = 17


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes = []
        self.inits = {}
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, key, value=None):
        if key not in self.inits:
            array = self.w[key] if value is None else value
            self.inits[key] = numpy_helper.from_array(np.ascontiguousarray(array), key)
        return key

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, layer):
        return self.op("Gemm", [x, self.const(f"{layer}.weight"), self.const(f"{layer}.bias")], transB=1)

    def conv(self, x, layer, transpose=False):
        conv = "ConvTranspose" if transpose else "Conv"
        return self.op(conv, [x, self.const(f"{layer}.weight"), self.const(f"{layer}.bias")],
                       kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])

    def reshape(self, x, shape):
        return self.op("Reshape", [x, self.const(f"shape{shape}", np.array(shape, dtype=np.int64))])

    def encode(self, x):
        """[B, 784] -> [B, 2L] (mu, then log variance)."""
        if "encoder.5.weight" not in self.w:
            return self.linear(self.op("Relu", [self.linear(x, "encoder.0")]), "encoder.2")
        h = self.reshape(x, [-1, 1, 28, 28])
        h = self.op("Relu", [self.conv(h, "encoder.0")])
        h = self.op("Relu", [self.conv(h, "encoder.2")])
        return self.linear(self.op("Flatten", [h], axis=1), "encoder.5")

    def decode(self, z):
        """[B, L] -> [B, 784] in (0, 1)."""
        if "encoder.5.weight" not in self.w:
            return self.op("Sigmoid", [self.linear(self.op("Relu", [self.linear(z, "decoder.0")]), "decoder.2")])
        channels = self.w["decoder.3.weight"].shape[0]
        h = self.reshape(self.op("Relu", [self.linear(z, "decoder.0")]), [-1, channels, 7, 7])
        h = self.op("Relu", [self.conv(h, "decoder.3", transpose=True)])
        h = self.conv(h, "decoder.5", transpose=True)
        return self.op("Sigmoid", [self.reshape(h, [-1, 784])])

    def model(self, name, inputs, output, shape):
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)
        graph = helper.make_graph(self.nodes, name, inputs, [out], list(self.inits.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="vae-bench")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, file in MODELS.items():
        w = load_file(ROOT / "www" / "models" / file)
        latent = w["decoder.0.weight"].shape[1]

        g = Graph(w)
        z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent])
        onnx.save(g.model(f"{name}-decode", [z], g.decode("z"), ["batch", 784]), out_dir / f"{name}.decode.onnx")

        g = Graph(w)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 784])
        stats = g.encode("x")
        mu = g.op("Slice", [stats, g.const("starts", np.array([0], dtype=np.int64)),
                            g.const("ends", np.array([latent], dtype=np.int64)), g.const("axes", np.array([1], dtype=np.int64))])
        onnx.save(g.model(f"{name}-drawing", [x], g.decode(mu), [1, 784]), out_dir / f"{name}.drawing.onnx")
        print(f"wrote {out_dir}/{name}.decode.onnx and {name}.drawing.onnx (latent {latent})")


if __name__ == "__main__":
    main()
