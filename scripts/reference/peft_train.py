#!/usr/bin/env python3
"""Reference run: Hugging Face PEFT LoRA on all-MiniLM-L6-v2 over the Rotten Tomatoes split that
`peft quickstart` uses, so the Swift figure has a Python figure to be compared with.

The split (identical to Sources/Training/Data/RottenTomatoes.swift): keep `fresh` (1) and
`rotten` (0), drop `plot` rows and exact duplicate texts (first occurrence kept), then the first
byte b of sha256(UTF-8 text) puts a row in test (b % 10 == 0), validation (b % 10 == 1) or train.

    HF_HUB_OFFLINE=1 nice python3 scripts/reference/peft_train.py --learning-rate 5e-4
    HF_HUB_OFFLINE=1 python3 scripts/reference/peft_train.py --method head
    # Evaluate an adapter that `peft train` wrote (labels.json maps names to its head's ids):
    HF_HUB_OFFLINE=1 python3 scripts/reference/peft_train.py --evaluate-adapter runs/quickstart/lora

Prints one JSON line per evaluation and a final JSON object with validation and test accuracy.
Needs torch, transformers, peft (fixture/reference only; the Swift package never needs them).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
ASSETS = ROOT / ".cache" / "assets"


def rotten_tomatoes_split(path: Path) -> dict[str, list[tuple[str, int]]]:
    labels = {"fresh": 1, "rotten": 0}
    seen: set[str] = set()
    split: dict[str, list[tuple[str, int]]] = {"train": [], "validation": [], "test": []}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["category"] not in labels or row["text"] in seen:
                continue
            seen.add(row["text"])
            bucket = hashlib.sha256(row["text"].encode("utf-8")).digest()[0] % 10
            name = "test" if bucket == 0 else "validation" if bucket == 1 else "train"
            split[name].append((row["text"], labels[row["category"]]))
    return split


def batches(rows, batch_size, generator=None):
    order = list(range(len(rows)))
    if generator is not None:
        generator.shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [rows[index] for index in order[start:start + batch_size]]


def evaluate(model, tokenizer, rows, max_length, batch_size=128):
    model.eval()
    correct, loss_sum, count = 0, 0.0, 0
    with torch.no_grad():
        for batch in batches(rows, batch_size):
            inputs = tokenizer([text for text, _ in batch], truncation=True, max_length=max_length,
                               padding=True, return_tensors="pt")
            labels = torch.tensor([label for _, label in batch])
            logits = model(**inputs).logits
            loss_sum += torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            count += len(batch)
    model.train()
    return {"accuracy": correct / count, "loss": loss_sum / count}


def evaluate_adapter(args) -> None:
    """Loads a PEFT adapter written by `peft train` into transformers and scores the split."""
    from peft import PeftModel
    torch.set_num_threads(args.threads)
    split = rotten_tomatoes_split(args.data)
    ids = json.load(open(args.evaluate_adapter / "labels.json"))["label2id"]
    # The split's ids are rotten 0 / fresh 1; the adapter's head may order labels otherwise.
    remap = {0: ids["rotten"], 1: ids["fresh"]}
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = BertForSequenceClassification.from_pretrained(args.model, num_labels=len(ids))
    model = PeftModel.from_pretrained(model, args.evaluate_adapter)
    result = {name: evaluate(model, tokenizer, [(text, remap[label]) for text, label in split[name]], args.max_length)
              for name in ("validation", "test")}
    print(json.dumps({"adapter": str(args.evaluate_adapter), **result}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ASSETS / "all-MiniLM-L6-v2")
    parser.add_argument("--data", type=Path, default=ASSETS / "rotten_tomatoes_corpus_full.csv")
    parser.add_argument("--method", choices=["lora", "head", "full"], default="lora")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training rows (smoke test)")
    parser.add_argument("--evaluate-adapter", type=Path, help="only evaluate this Swift-trained adapter folder")
    args = parser.parse_args()
    if args.evaluate_adapter:
        evaluate_adapter(args)
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    split = rotten_tomatoes_split(args.data)
    train = split["train"][: args.limit] if args.limit else split["train"]
    print(json.dumps({"rows": {k: len(v) for k, v in split.items()}}), flush=True)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = BertForSequenceClassification.from_pretrained(args.model, num_labels=2)
    if args.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        config = LoraConfig(task_type=TaskType.SEQ_CLS, r=args.rank, lora_alpha=args.alpha,
                            lora_dropout=args.dropout, target_modules=["query", "value"])
        model = get_peft_model(model, config)
    elif args.method == "head":
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith("classifier.")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.learning_rate, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = int(math.ceil(args.warmup_ratio * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / max(1, warmup) if step < warmup
        else max(0.0, (total_steps - step) / max(1, total_steps - warmup)))

    shuffler = random.Random(args.seed)
    model.train()
    start = time.time()
    best = None
    for epoch in range(args.epochs):
        for step, batch in enumerate(batches(train, args.batch_size, shuffler)):
            inputs = tokenizer([text for text, _ in batch], truncation=True, max_length=args.max_length,
                               padding=True, return_tensors="pt")
            labels = torch.tensor([label for _, label in batch])
            loss = torch.nn.functional.cross_entropy(model(**inputs).logits, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            if step % 50 == 0:
                print(json.dumps({"epoch": epoch, "step": step, "loss": round(loss.item(), 4),
                                  "seconds": round(time.time() - start, 1)}), flush=True)
        validation = evaluate(model, tokenizer, split["validation"], args.max_length) | {"epoch": epoch + 1}
        print(json.dumps({"epoch": epoch + 1, "validation": validation}), flush=True)
        # Like `peft train`: the weights of the best validation accuracy are the result.
        if best is None or validation["accuracy"] > best["accuracy"]:
            best = validation
            best_weights = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name in best_weights:
                parameter.copy_(best_weights[name])
    test = evaluate(model, tokenizer, split["test"], args.max_length)
    print(json.dumps({
        "method": args.method, "learning_rate": args.learning_rate, "epochs": args.epochs,
        "trainable_parameters": trainable, "total_parameters": total,
        "validation_accuracy": best["accuracy"], "best_epoch": best["epoch"], "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "train_seconds": round(time.time() - start, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
