"""Export: a BERT encoder's weights as an ONNX model, with neither torch nor onnx.

`write_bert(model_dir, target)` reads a sentence-transformers model directory
whose transformer is BERT (all-MiniLM-L6-v2 is: `"model_type": "bert"`), its
`config.json` and `model.safetensors`, and writes the encoder as an ONNX file
that ONNX Runtime runs: inputs `input_ids`, `attention_mask`, `token_type_ids`
(int64, batch × tokens), output `hidden` (the last hidden state). Pooling and
normalisation stay in `embedding.OnnxEmbedder`.

The graph is the encoder BERT's paper and transformers' `BertModel` describe:
embeddings (word + position + token type, then LayerNorm), then per layer
self-attention (masked softmax over the heads) and a feed-forward block, each
added to its input and normalised. Its vectors match sentence-transformers' to
cosine 1.0000 (`tests/test_embedding.py` compares them), so an index built one
way answers the other's questions.

The file is written in ONNX's protobuf wire format by the few lines of
`_Message` below rather than by the `onnx` package: that package (and its
dependencies, 33 MB) would be in every install for this one step. The weights
go to a file beside the graph (ONNX external data, page-aligned), which ONNX
Runtime maps instead of copying.

Left out: other architectures (RoBERTa, MPNet, …: those run through
sentence-transformers, the `reference` extra), relative position embeddings,
pooler weights.
"""

import json
import struct
from pathlib import Path

import numpy as np

from .errors import MissingDependencyError, ModelError

OPSET = 17  # the first with LayerNormalization
IR_VERSION = 8  # the ONNX file format that opset 17 came with
_FLOAT, _INT64 = 1, 7  # ONNX TensorProto data types
_ALIGN = 4096  # external weights start on a page, so they can be mapped


def is_bert(model_dir: Path) -> bool:
    """Whether the directory holds a BERT encoder this module can write."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and (Path(model_dir) / "model.safetensors").is_file())


def write_bert(model_dir: Path, target: Path) -> None:
    """Write the encoder of `model_dir` to `target`, its weights beside it in `target.name + ".data"`."""
    try:
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise MissingDependencyError("writing the ONNX model needs safetensors: pip install safetensors") from exc
    model_dir, target = Path(model_dir), Path(target)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    try:
        weights = load_file(str(model_dir / "model.safetensors"))
    except Exception as exc:  # the library raises its own error types for a damaged file
        raise ModelError(f"{model_dir}: cannot read model.safetensors ({exc})") from exc
    # Some checkpoints name the encoder "bert.embeddings…", most "embeddings…"; a
    # half-precision checkpoint computes in float32 here, as on any CPU.
    weights = {k.removeprefix("bert."): v.astype(np.float32, copy=False) if v.dtype.kind == "f" else v for k, v in weights.items()}
    if any(v.dtype not in (np.float32, np.int64) for v in weights.values()):
        raise ModelError(f"{model_dir}: model.safetensors holds weights of a type the ONNX path does not read")
    graph = _Graph(weights, model_dir)
    _bert(graph, config)
    data = target.with_name(f"{target.name}.data")
    try:
        with open(data, "wb") as out:
            initializers = [graph.tensor(name, array, out, data.name) for name, array in graph.initializers]
        axes = ["batch", "tokens"]
        inputs = [_value_info(name, _INT64, axes) for name in ("input_ids", "attention_mask", "token_type_ids")]
        body = (_Message().messages(1, graph.nodes).string(2, "bert").messages(5, initializers)
                .messages(11, inputs).message(12, _value_info("hidden", _FLOAT, axes + [int(config["hidden_size"])])))
        model = (_Message().int(1, IR_VERSION).string(2, "rag.export").message(7, body)
                 .message(8, _Message().string(1, "").int(2, OPSET)))
        target.write_bytes(model.bytes())
    except BaseException:
        data.unlink(missing_ok=True)  # 90 MB of a model never finished (a full disk): not left in the cache
        raise


def _bert(g: "_Graph", config: dict) -> None:
    """Add BERT's encoder to `g`, from the inputs to `hidden`."""
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))

    def linear(x: str, prefix: str, out: str) -> str:
        w = g.weight(f"{prefix}.weight.T", g.weights_of(f"{prefix}.weight").T)  # torch keeps (out, in)
        return g.node("Add", [g.node("MatMul", [x, w], f"{out}.mm"), g.weight(f"{prefix}.bias")], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        return g.node("LayerNormalization", [x, g.weight(f"{prefix}.weight"), g.weight(f"{prefix}.bias")], out,
                      axis=-1, epsilon=eps)

    # Embeddings: word + position + token type; positions 0, 1, 2, … are a running count of ones, less one.
    words = g.node("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"], "emb.words")
    types = g.node("Gather", [g.weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "emb.types")
    ones = g.node("ConstantOfShape", [g.node("Shape", ["input_ids"], "ids.shape")], "ids.ones",
                  value=np.ones(1, dtype=np.int64))
    positions = g.node("Sub", [g.node("CumSum", [ones, g.constant(1)], "ids.count"), g.constant(1)], "positions")
    where = g.node("Gather", [g.weight("embeddings.position_embeddings.weight"), positions], "emb.positions")
    x = g.node("Add", [g.node("Add", [words, types], "emb.sum"), where], "emb.all")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")

    # Padding: the lowest float added to masked keys' scores, shaped (batch, 1, 1, tokens).
    mask = g.node("Unsqueeze", [g.node("Cast", ["attention_mask"], "mask.float", to=_FLOAT), g.constant([1, 2])],
                  "mask.4d")
    bias = g.node("Mul", [g.node("Sub", [g.constant(1.0, np.float32), mask], "mask.inv"),
                          g.constant(np.finfo(np.float32).min, np.float32)], "mask.bias")

    size = hidden // heads
    split = g.constant([0, 0, heads, size])  # Reshape: 0 keeps the input's batch and tokens
    scale = g.constant(1.0 / np.sqrt(size), np.float32)
    for n in range(int(config["num_hidden_layers"])):
        p, at = f"encoder.layer.{n}", f"layer{n}"

        def by_heads(name: str, perm: list[int]) -> str:
            reshaped = g.node("Reshape", [linear(x, f"{p}.attention.self.{name}", f"{at}.{name}"), split],
                              f"{at}.{name}.heads")
            return g.node("Transpose", [reshaped], f"{at}.{name}.t", perm=perm)

        q, k, v = by_heads("query", [0, 2, 1, 3]), by_heads("key", [0, 2, 3, 1]), by_heads("value", [0, 2, 1, 3])
        scores = g.node("Mul", [g.node("MatMul", [q, k], f"{at}.qk"), scale], f"{at}.scaled")
        probs = g.node("Softmax", [g.node("Add", [scores, bias], f"{at}.masked")], f"{at}.probs", axis=-1)
        context = g.node("Transpose", [g.node("MatMul", [probs, v], f"{at}.ctx")], f"{at}.ctx.t", perm=[0, 2, 1, 3])
        context = g.node("Reshape", [context, g.constant([0, 0, hidden])], f"{at}.ctx.flat")
        attended = linear(context, f"{p}.attention.output.dense", f"{at}.attn.out")
        x = layer_norm(g.node("Add", [attended, x], f"{at}.attn.res"), f"{p}.attention.output.LayerNorm", f"{at}.attn")
        inner = linear(x, f"{p}.intermediate.dense", f"{at}.ffn.in")
        # GELU as BERT defines it, with erf: x · ½ · (1 + erf(x / √2)).
        erf = g.node("Erf", [g.node("Mul", [inner, g.constant(1 / np.sqrt(2), np.float32)], f"{at}.gelu.s")],
                     f"{at}.gelu.erf")
        half = g.node("Mul", [g.node("Add", [erf, g.constant(1.0, np.float32)], f"{at}.gelu.1p"),
                              g.constant(0.5, np.float32)], f"{at}.gelu.h")
        out = linear(g.node("Mul", [inner, half], f"{at}.gelu"), f"{p}.output.dense", f"{at}.ffn.out")
        x = layer_norm(g.node("Add", [out, x], f"{at}.ffn.res"), f"{p}.output.LayerNorm", f"{at}.out")
    g.node("Identity", [x], "hidden")


class _Graph:
    """Nodes and weights as they are added; serialised by `write_bert`."""

    def __init__(self, weights: dict[str, np.ndarray], model_dir: Path):
        self._weights, self._model_dir = weights, model_dir
        self.nodes: list[_Message] = []
        self.initializers: list[tuple[str, np.ndarray]] = []
        self._constants: dict[tuple, str] = {}

    def weights_of(self, name: str) -> np.ndarray:
        if name not in self._weights:
            raise ModelError(f"{self._model_dir}: model.safetensors has no {name}; not a BERT encoder")
        return self._weights[name]

    def weight(self, name: str, array: np.ndarray | None = None) -> str:
        self.initializers.append((name, self.weights_of(name) if array is None else array))
        return name

    def constant(self, value, dtype=np.int64) -> str:
        key = (repr(value), np.dtype(dtype).name)
        if key not in self._constants:
            self._constants[key] = self.weight(f"const.{len(self._constants)}", np.asarray(value, dtype=dtype))
        return self._constants[key]

    def node(self, op: str, inputs: list[str], out: str, **attrs) -> str:
        """Add an `op` node whose output (and name) is `out`; return `out`."""
        node = _Message().strings(1, inputs).string(2, out).string(3, out).string(4, op)
        for name, value in attrs.items():
            node.message(5, _attribute(name, value))
        self.nodes.append(node)
        return out

    @staticmethod
    def tensor(name: str, array: np.ndarray, out, location: str) -> "_Message":
        """A TensorProto for `array`: inline when small, else appended to the open file `out`."""
        array = np.ascontiguousarray(array)
        kind = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}[array.dtype]
        tensor = _Message().ints(1, array.shape).int(2, kind).string(8, name)
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        if len(raw) < _ALIGN:
            return tensor.bytes_field(9, raw)
        out.write(b"\0" * (-out.tell() % _ALIGN))
        offset = out.tell()
        out.write(raw)
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(raw)))):
            tensor.message(13, _Message().string(1, key).string(2, value))
        return tensor.int(14, 1)  # data_location: EXTERNAL


def _attribute(name: str, value) -> "_Message":
    """An AttributeProto: an int, a float, a list of ints or a one-element tensor."""
    attr = _Message().string(1, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, list, np.ndarray)):
        raise TypeError(f"attribute {name}: {value!r}")
    if isinstance(value, np.ndarray):
        return attr.message(5, _Graph.tensor("", value, None, "")).int(20, 4)  # TENSOR
    if isinstance(value, list):
        return attr.ints(8, value).int(20, 7)  # INTS
    if isinstance(value, int):
        return attr.int(3, value).int(20, 2)  # INT
    return attr.float(2, value).int(20, 1)  # FLOAT


def _value_info(name: str, kind: int, dims: list) -> "_Message":
    """A ValueInfoProto: a tensor of `kind` whose dims are sizes or named (dynamic) axes."""
    shape = _Message().messages(1, [_Message().int(1, d) if isinstance(d, int) else _Message().string(2, d)
                                    for d in dims])
    return _Message().string(1, name).message(2, _Message().message(1, _Message().int(1, kind).message(2, shape)))


class _Message:
    """One protobuf message in wire format, fields appended in order: varints
    (wire type 0), 32-bit floats (5) and length-delimited bytes (2)."""

    def __init__(self):
        self._parts: list[bytes] = []

    def bytes(self) -> bytes:
        return b"".join(self._parts)

    def _key(self, field: int, wire: int) -> None:
        self._parts.append(_varint(field << 3 | wire))

    def int(self, field: int, value: int) -> "_Message":
        self._key(field, 0)
        self._parts.append(_varint(value))
        return self

    def ints(self, field: int, values) -> "_Message":
        for v in values:
            self.int(field, int(v))
        return self

    def float(self, field: int, value: float) -> "_Message":
        self._key(field, 5)
        self._parts.append(struct.pack("<f", value))
        return self

    def bytes_field(self, field: int, value: bytes) -> "_Message":
        self._key(field, 2)
        self._parts += [_varint(len(value)), value]
        return self

    def string(self, field: int, value: str) -> "_Message":
        return self.bytes_field(field, value.encode("utf-8"))

    def strings(self, field: int, values) -> "_Message":
        for v in values:
            self.string(field, v)
        return self

    def message(self, field: int, value: "_Message") -> "_Message":
        return self.bytes_field(field, value.bytes())

    def messages(self, field: int, values) -> "_Message":
        for v in values:
            self.message(field, v)
        return self


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are sent as their two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)
