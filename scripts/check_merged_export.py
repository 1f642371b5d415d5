#!/usr/bin/env python3
"""Checks a model folder written by `peft merge`: transformers must load it with no missing or
unexpected keys, and its logits must equal Python PEFT's for the base model + adapter.

Usage: HF_HUB_OFFLINE=1 python3 scripts/check_merged_export.py BASE_MODEL ADAPTER MERGED
"""
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path = [p for p in sys.path if not p.endswith("scripts")]
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

base, adapter, merged = sys.argv[1:4]
texts = ["a gripping, beautifully acted film", "dull and lifeless"]
tokenizer = AutoTokenizer.from_pretrained(base)
batch = tokenizer(texts, padding=True, return_tensors="pt")

reference = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
reference = PeftModel.from_pretrained(reference, adapter).eval()
loaded, info = AutoModelForSequenceClassification.from_pretrained(merged, output_loading_info=True)
loaded.eval()
problems = {k: v for k, v in info.items() if v}
with torch.no_grad():
    expected = reference(**batch).logits
    actual = loaded(**batch).logits
difference = (expected - actual).abs().max().item()
print(f"loading info problems: {problems or 'none'}; max |logit difference| = {difference:.2e}")
sys.exit(0 if not problems and difference < 1e-4 else 1)
