#!/usr/bin/env python3
"""Loads an adapter_config.json planned by `peft analyze --plan` with Python PEFT and checks
that PEFT injects exactly the planned ranks.

    python3 scripts/check_planned_config.py PLAN_DIR [--model .cache/assets/all-MiniLM-L6-v2] [--labels 3]

Prints PEFT's trainable-parameter line and exits non-zero when a planned module is missing or
has another rank. Needs torch, transformers and peft (fixture tooling only).
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("plan_dir")
    parser.add_argument("--model", default=".cache/assets/all-MiniLM-L6-v2")
    parser.add_argument("--labels", type=int, default=3)
    arguments = parser.parse_args()

    config = LoraConfig.from_pretrained(arguments.plan_dir)
    model = AutoModelForSequenceClassification.from_pretrained(arguments.model, num_labels=arguments.labels)
    peft_model = get_peft_model(model, config)
    peft_model.print_trainable_parameters()

    with open(os.path.join(arguments.plan_dir, "adapter_config.json")) as file:
        planned = json.load(file)
    expected = {name: planned["rank_pattern"].get(name, planned["r"]) for name in planned["target_modules"]}
    found = {}
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            found[name.removeprefix("base_model.model.")] = module.lora_A["default"].weight.shape[0]
    if found != expected:
        print(f"mismatch: planned {expected}, PEFT made {found}", file=sys.stderr)
        return 1
    adapter = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    print(f"PEFT accepted the plan: {len(found)} modules, {adapter} LoRA parameters, ranks as planned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
