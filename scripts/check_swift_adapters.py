"""Loads adapters written by SwiftPEFT into Python PEFT and compares outputs.

The Swift test suites SwiftAdapterExportTests and the exportForPython tests of IA3Tests,
PromptTuningTests, PrefixTuningTests and DecoderPromptTests write .cache/swift-adapters/<case>/
with adapter_config.json, adapter_model.safetensors and reference.safetensors (tiny models' base
weights as `base.<key>`, the input and SwiftPEFT's output). For each case this script builds
the same base model, loads the adapter with PeftModel.from_pretrained, requires no missing or
unexpected adapter keys, and checks that the outputs agree within 1e-4. Decoder cases
(`llama_*`, `gpt2_*`) use the tiny base models of Tests/PEFTTests/Fixtures/decoder_prompts/
and compare the logits of the real positions (SwiftPEFT never returns virtual ones).

Run: swift test --filter 'SwiftAdapterExportTests|exportForPython' && HF_HUB_OFFLINE=1 python scripts/check_swift_adapters.py
"""
import os
import sys

sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from peft_lora import MINILM, ROOT, TinyConv, TinyMLP  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))   # peft_lora dropped it
from peft_methods import allow_prefix_tuning  # noqa: E402

import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from peft.utils import set_peft_model_state_dict  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

FOLDER = os.path.join(ROOT, ".cache", "swift-adapters")


def check_keys(folder, model, name):
    """Loading the adapter state dict again reports what did not fit. Prompt learning keeps its
    table outside the module tree (`prompt_embeddings` is loaded into the prompt encoder
    separately), so there the table itself is compared."""
    saved = load_file(os.path.join(folder, "adapter_model.safetensors"))
    result = set_peft_model_state_dict(model, saved)
    missing = [k for k in result.missing_keys if any(part in k for part in ("lora_", "ia3_l", "modules_to_save"))]
    unexpected = list(result.unexpected_keys)
    if model.active_peft_config.is_prompt_learning:
        table = model.prompt_encoder[model.active_adapter].embedding.weight
        if not torch.equal(table.detach(), saved["prompt_embeddings"]):
            raise SystemExit(f"{name}: prompt_embeddings not loaded into the prompt encoder")
        missing = [k for k in missing if not k.startswith("prompt_encoder.")]
        unexpected = [k for k in unexpected if k != "prompt_embeddings"]
    if missing or unexpected:
        raise SystemExit(f"{name}: missing {missing}, unexpected {unexpected}")


def main():
    cases = sorted(os.listdir(FOLDER)) if os.path.isdir(FOLDER) else []
    if not cases:
        raise SystemExit(f"no adapters under {FOLDER}: run swift test --filter SwiftAdapterExportTests first")
    failures = 0
    for name in cases:
        folder = os.path.join(FOLDER, name)
        reference = load_file(os.path.join(folder, "reference.safetensors"))
        if name.startswith(("llama", "gpt2")):
            from transformers import AutoModelForCausalLM
            base_folder = os.path.join(ROOT, "Tests", "PEFTTests", "Fixtures", "decoder_prompts", name.split("_")[0])
            model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_folder), folder).eval()
            check_keys(folder, model, name)
            ids, mask = reference["input_ids"].long(), reference["attention_mask"].long()
            with torch.no_grad():
                output = model(input_ids=ids, attention_mask=mask).logits
            output = output[:, output.shape[1] - ids.shape[1]:]   # prompt tuning: drop the virtual positions
            expected = reference["logits"]
        elif name.startswith("minilm"):
            from transformers import AutoModelForSequenceClassification
            base = AutoModelForSequenceClassification.from_pretrained(MINILM, num_labels=2)
            allow_prefix_tuning(base.bert)
            model = PeftModel.from_pretrained(base, folder).eval()
            check_keys(folder, model, name)
            ids = reference["input_ids"].long()
            with torch.no_grad():
                output = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            expected = reference["logits"]
        else:
            base = TinyConv() if name.startswith("conv") else TinyMLP()
            base.load_state_dict({k[5:]: v for k, v in reference.items() if k.startswith("base.")})
            model = PeftModel.from_pretrained(base, folder).eval()
            check_keys(folder, model, name)
            with torch.no_grad():
                output = model(reference["input"])
            expected = reference["output"]
        difference = (output - expected).abs().max().item()
        status = "ok" if difference < 1e-4 else "MISMATCH"
        failures += status != "ok"
        print(f"{name}: max |python - swift| = {difference:.3g} {status}")
    if failures:
        raise SystemExit(f"{failures} adapter(s) differ")


if __name__ == "__main__":
    main()
