#!/usr/bin/env python3
"""The PyTorch side of `peft-bench train`: all-MiniLM-L6-v2 with a 2-class head at batch 16 x 128
tokens — LoRA r=8 on query/value (+ classifier) with peft, full fine-tuning, and inference —
seconds per step (median after one warm-up) and peak resident memory, as JSON.

Each configuration runs in its own process so the peak (ru_maxrss) belongs to it alone.
Usage: HF_HUB_OFFLINE=1 python3 scripts/reference/pytorch_train_bench.py [--threads 2] [--steps 5]
Needs torch, transformers, peft (benchmark only; the Swift package never needs them).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]


def measure(name: str, threads: int, steps: int, batch: int, length: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model = AutoModelForSequenceClassification.from_pretrained(ROOT / ".cache/assets/all-MiniLM-L6-v2", num_labels=2)
    if name == "lora":
        config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1, target_modules=["query", "value"],
                            modules_to_save=["classifier"])
        model = get_peft_model(model, config)
    ids = torch.randint(1000, 21000, (batch, length))
    labels = torch.arange(batch) % 2
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train(name != "inference")

    def step():
        if name == "inference":
            with torch.no_grad():
                model(input_ids=ids).logits.sum().item()
            return
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    trainable = 0 if name == "inference" else sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"configuration": name, "seconds_per_step": seconds, "steps_per_second": 1 / seconds,
            "tokens_per_second": batch * length / seconds, "peak_memory_bytes": peak, "peak_above_start_bytes": peak - baseline,
            "trainable_parameters": trainable, "torch": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--only", choices=["lora", "full", "inference"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args.threads, args.steps, args.batch_size, args.max_length)))
        return
    results = []
    for name in ["lora", "full", "inference"]:
        output = subprocess.run([sys.executable, __file__, "--only", name, "--threads", str(args.threads),
                                 "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                                 "--max-length", str(args.max_length)], capture_output=True, text=True, check=True)
        results.append(json.loads(output.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"{name:10s} {r['seconds_per_step']:.3f} s/step  {r['tokens_per_second']:.0f} tokens/s  "
              f"peak {r['peak_memory_bytes'] / 2**20:.0f} MiB (process)  trainable {r['trainable_parameters']}")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "max_length": args.max_length,
                                         "threads": args.threads, "results": results}, indent=1))


if __name__ == "__main__":
    main()
