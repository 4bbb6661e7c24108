"""Exports torchvision's mobilenet_v2 and resnet18 with random weights to ONNX, plus their
state_dicts for the torch peers. No weights are downloaded: `weights=None` and a fixed seed.

Usage: /usr/bin/python3 export_models.py OUT_DIR [NAME ...]
Runs with Debian's python3-torch, python3-torchvision and python3-onnx (scripts/bench-deps.sh).
"""
import os
import sys

import onnx
import torch
import torchvision

BUILDERS = {
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "resnet18": torchvision.models.resnet18,
}


def export(name: str, out_dir: str) -> None:
    torch.manual_seed(0)
    model = BUILDERS[name](weights=None).eval()
    version_dir = os.path.join(out_dir, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    onnx_path = os.path.join(version_dir, "model.onnx")
    example = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        model,
        example,
        onnx_path + ".tmp",
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx_path + ".tmp")
    torch.save(model.state_dict(), os.path.join(out_dir, name, "torch_state.pt"))
    os.replace(onnx_path + ".tmp", onnx_path)
    print(f"exported {name} -> {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB)", flush=True)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: export_models.py OUT_DIR [NAME ...]")
    out_dir = sys.argv[1]
    names = sys.argv[2:] or list(BUILDERS)
    for name in names:
        if name not in BUILDERS:
            sys.exit(f"unknown model {name!r}; expected one of {sorted(BUILDERS)}")
        export(name, out_dir)


if __name__ == "__main__":
    main()
