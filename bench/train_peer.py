#!/usr/bin/python3
"""train_peer.py: the Python peer of c2s's training benchmark and the reference of its tests.

Eager PyTorch training steps, done the way transformers + torch do them, on a Hugging Face
model folder, with the model code of bench/model_peer.py (GPT-NeoX, Gemma-2, GPT-2). Needs only
Debian's python3-torch (1.13) and numpy: no transformers, no peft, no network.

A step (the plan names its micro-batches, so c2s and the peer do exactly the same work):
  - each micro-batch is padded to its longest example (left or right, pad_id) with an attention
    mask; position ids come from the mask as generate() builds them (cumsum(mask) - 1, 1 at
    padded places; what a padded place gets changes nothing: no counted label reads it);
  - labels are the ids with -100 at padding and, with loss_on "response", at the first
    prompt_tokens positions; logits at t predict the label at t+1 (causal LM loss);
  - the step's loss is the sum of token cross-entropies over all its micro-batches divided by
    the step's total counted tokens, so accumulation equals one big batch; each micro-batch is
    backpropagated as (its sum / step total) and the gradients add up;
  - grad_norm is the global L2 norm before clipping (torch.nn.utils.clip_grad_norm_'s value);
    clipping when max_grad_norm > 0; torch.optim.AdamW, weight decay on tensors with dim >= 2
    only; the learning rate at optimiser step s (0-based) is lr * factor(s), factor as in
    transformers' get_{constant,linear,cosine}_schedule_with_warmup (see schedule_factor),
    applied through torch.optim.lr_scheduler.LambdaLR; optimizer.step(),
    zero_grad(set_to_none=True).
Master weights are float32 (a BF16/F16 folder is widened when read); --dtype bf16-autocast runs
the forward under torch.autocast("cpu", bfloat16), the loss in float32. No dropout: the config's
dropout probabilities (GPT-2's 0.1) are ignored so that the steps are deterministic (c2s must
train without dropout to be compared step by step). grad_norm is torch's float32 norm: over a
large vocabulary's head it is only good to about 1e-4 relative (neox-tiny: 7e-5 on embed_out),
so compare it with c2s's at that level.

Commands (run from the repository root):

  bench/train_peer.py train --model DIR --examples FILE.jsonl --plan PLAN.json \\
      [--threads N] [--dtype fp32|bf16-autocast] [--save OUT_DIR] [--json]
      FILE.jsonl: one example a line, {"ids": [prompt ids..., response ids..., eos],
      "prompt_tokens": n}. PLAN.json: {"padding_side": "left"|"right", "pad_id": k,
      "loss_on": "response"|"all", "lr", "betas": [b1, b2], "eps", "weight_decay",
      "schedule": "constant"|"linear"|"cosine", "warmup_steps", "max_grad_norm" (0: none),
      "steps": [[[example indices of micro-batch 1], [micro-batch 2], ...], ...]}; pad_id, lr and
      steps are required, the rest default as in PLAN_DEFAULTS (torch's AdamW defaults, no decay,
      constant schedule, no warm-up, no clipping, right padding, loss on the response).
      Prints per step loss, grad_norm, lr, tokens and the totals (one JSON object with --json).
      Before the timed steps, one untimed warm-up forward+backward of step 1's first
      micro-batch whose gradients are thrown away: no optimiser step, so the weights and the
      optimiser state are untouched. --save writes the trained float32 weights as
      OUT_DIR/model.safetensors under the names the folder's file uses, with the folder's
      config and tokenizer files, so the result loads like the original.

  bench/train_peer.py check [--golden DIR ...]
      On each golden model (default: all of ../shared/golden/models/*/), one forward+backward
      on sequences[train.sequence_index] with labels = input_ids through the training code
      above, against golden.json's train block: loss, every named gradient norm, the global
      norm, the final-norm gradient and the loss after one plain SGD step, within 1e-4
      relative. Then the padding and accumulation rules on the three golden sequences: one
      left-padded micro-batch, one right-padded micro-batch and three unpadded micro-batches of
      one must give the same loss and gradients (1e-5 relative), and that loss must equal the
      cross-entropy summed by hand from unbatched logits. Then three train_step calls (linear
      warm-up schedule, clipping, weight decay) against AdamW written out in float64 (1e-4 of
      the step's change), and schedule_factor against a table. Exits 1 on any miss.
"""
import argparse
import glob
import json
import math
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

from model_peer import load_model, peak_rss_bytes, position_ids_from_mask

IGNORE = -100  # the label transformers' loss skips
GOLDEN_MODELS = "../shared/golden/models"
# Files besides the weights that make a saved folder load like the original.
FOLDER_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt")


def fail(message):
    sys.exit(f"train_peer: {message}")


# ----------------------------------------------------------------------------------------------
# Examples, plan and micro-batches
# ----------------------------------------------------------------------------------------------

def read_examples(path, vocab_size):
    examples = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
                ids = [int(i) for i in example["ids"]]
                prompt_tokens = int(example.get("prompt_tokens", 0))
            except (ValueError, KeyError, TypeError) as e:
                fail(f"{path}:{number}: not an example ({e})")
            if len(ids) < 2 or not 0 <= prompt_tokens <= len(ids):
                fail(f"{path}:{number}: {len(ids)} ids with prompt_tokens {prompt_tokens}")
            if min(ids) < 0 or max(ids) >= vocab_size:
                fail(f"{path}:{number}: an id outside the vocabulary (size {vocab_size})")
            examples.append({"ids": ids, "prompt_tokens": prompt_tokens})
    return examples


PLAN_DEFAULTS = {"padding_side": "right", "loss_on": "response", "betas": [0.9, 0.999], "eps": 1e-8,
                 "weight_decay": 0.0, "schedule": "constant", "warmup_steps": 0, "max_grad_norm": 0.0}


def read_plan(path, n_examples):
    with open(path) as f:
        plan = {**PLAN_DEFAULTS, **json.load(f)}
    for key in ("pad_id", "lr", "steps"):
        if key not in plan:
            fail(f"{path}: the plan has no {key!r}")
    if plan["padding_side"] not in ("left", "right"):
        fail(f"{path}: padding_side must be left or right")
    if plan["loss_on"] not in ("response", "all"):
        fail(f"{path}: loss_on must be response or all")
    if plan["schedule"] not in ("constant", "linear", "cosine"):
        fail(f"{path}: schedule must be constant, linear or cosine")
    if not plan["steps"]:
        fail(f"{path}: the plan has no steps")
    for s, step in enumerate(plan["steps"], 1):
        if not step or not all(step):
            fail(f"{path}: step {s} has an empty micro-batch or none")
        for micro_batch in step:
            if any(not 0 <= i < n_examples for i in micro_batch):
                fail(f"{path}: step {s} names an example outside 0..{n_examples - 1}")
    return plan


class MicroBatch:
    """input_ids, attention_mask, position_ids and labels [rows, longest] of some examples."""

    def __init__(self, examples, padding_side, pad_id, loss_on):
        longest = max(len(e["ids"]) for e in examples)
        self.input_ids = torch.full((len(examples), longest), pad_id, dtype=torch.long)
        self.attention_mask = torch.zeros((len(examples), longest), dtype=torch.long)
        self.labels = torch.full((len(examples), longest), IGNORE, dtype=torch.long)
        for row, e in enumerate(examples):
            ids = torch.tensor(e["ids"], dtype=torch.long)
            start = longest - len(ids) if padding_side == "left" else 0
            place = slice(start, start + len(ids))
            self.input_ids[row, place] = ids
            self.attention_mask[row, place] = 1
            labels = ids.clone()
            if loss_on == "response":
                labels[: e["prompt_tokens"]] = IGNORE
            self.labels[row, place] = labels
        self.position_ids = position_ids_from_mask(self.attention_mask)
        # A label at t is predicted from position t-1: the first position's never counts.
        self.counted_tokens = int((self.labels[:, 1:] != IGNORE).sum())
        self.input_tokens = int(self.attention_mask.sum())
        self.padded_tokens = self.input_ids.numel()


def loss_sum(model, batch, autocast):
    """Sum of the counted tokens' cross-entropies (float32), with the autograd graph."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        logits = model.forward(batch.input_ids, batch.position_ids, batch.attention_mask,
                               all_logits=True).logits
    # transformers upcasts the logits before the loss; the shift drops the last prediction
    logits = logits[:, :-1, :].float()
    labels = batch.labels[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=IGNORE, reduction="sum")


# ----------------------------------------------------------------------------------------------
# The optimiser step
# ----------------------------------------------------------------------------------------------

def make_trainable(model):
    """The model's weights as leaf tensors requiring gradients, by their names in the file."""
    for tensor in model.named_weights.values():
        if not tensor.is_floating_point():
            fail("a weight that is not floating point cannot be trained")
        tensor.requires_grad_(True)
    return model.named_weights


def schedule_factor(kind, step, warmup_steps, total_steps):
    """transformers' get_*_schedule_with_warmup factor at optimiser step `step` (0-based):
    step / max(1, warmup) while step < warmup; then constant: 1;
    linear: max(0, (total - step) / max(1, total - warmup));
    cosine: max(0, 0.5 * (1 + cos(pi * 2 * 0.5 * progress))), progress = (step - warmup) / max(1, total - warmup).
    With warmup, step 0 therefore runs at learning rate 0, as it does in transformers."""
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    if kind == "constant":
        return 1.0
    if kind == "linear":
        return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))
    progress = float(step - warmup_steps) / float(max(1, total_steps - warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def make_optimizer(params, plan):
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": plan["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=plan["lr"], betas=tuple(plan["betas"]), eps=plan["eps"])
    total = len(plan["steps"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: schedule_factor(plan["schedule"], s, plan["warmup_steps"], total))
    return optimizer, scheduler


def grad_global_norm(params):
    """The norm clip_grad_norm_ computes (and returns): the L2 norm of the per-tensor L2 norms."""
    grads = [p.grad.detach() for p in params if p.grad is not None]
    return torch.norm(torch.stack([torch.norm(g, 2.0) for g in grads]), 2.0)


def accumulate_gradients(model, batches, autocast):
    """Backpropagate a step's micro-batches so the gradients are those of (sum of token
    cross-entropies over all of them) / (their counted tokens); returns that loss."""
    total_tokens = sum(b.counted_tokens for b in batches)
    if total_tokens == 0:
        fail("a step has no counted token")
    step_loss = 0.0
    for batch in batches:
        summed = loss_sum(model, batch, autocast)
        (summed / total_tokens).backward()
        step_loss += float(summed.detach())
    return step_loss / total_tokens


def train_step(model, params, optimizer, scheduler, batches, max_grad_norm, autocast):
    """One optimiser step over its micro-batches; returns the step's loss, grad norm and lr."""
    loss = accumulate_gradients(model, batches, autocast)
    if max_grad_norm > 0:
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_grad_norm)
    else:
        norm = grad_global_norm(params.values())
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss, float(norm), lr


# ----------------------------------------------------------------------------------------------
# Saving: safetensors under the file's own names
# ----------------------------------------------------------------------------------------------

def write_safetensors(tensors, path):
    """Float32 tensors to a safetensors file: 8-byte little-endian header length, JSON header
    padded with spaces to a multiple of 8, then the data in header order. Written to a
    temporary name and renamed, so an interrupted run leaves no file that looks complete."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    temporary = path + ".partial"
    with open(temporary, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for data in blobs:
            f.write(data)
    os.replace(temporary, path)


def save_folder(model_dir, params, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name in FOLDER_FILES:
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(out_dir, name))
    write_safetensors(params, os.path.join(out_dir, "model.safetensors"))


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------

def train(args):
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = load_model(args.model, torch.float32)
    params = make_trainable(model)
    examples = read_examples(args.examples, model.config["vocab_size"])
    plan = read_plan(args.plan, len(examples))
    steps = [[MicroBatch([examples[i] for i in micro], plan["padding_side"], plan["pad_id"], plan["loss_on"])
              for micro in step] for step in plan["steps"]]
    optimizer, scheduler = make_optimizer(params, plan)
    load_seconds = time.perf_counter() - start
    autocast = args.dtype == "bf16-autocast"

    # Warm-up without an optimiser step: the weights and the optimiser state stay untouched.
    loss_sum(model, steps[0][0], autocast).backward()
    optimizer.zero_grad(set_to_none=True)

    records = []
    start = time.perf_counter()
    for number, batches in enumerate(steps, 1):
        step_start = time.perf_counter()
        loss, norm, lr = train_step(model, params, optimizer, scheduler, batches, plan["max_grad_norm"], autocast)
        records.append({"step": number, "loss": loss, "grad_norm": norm, "lr": lr,
                        "tokens": sum(b.counted_tokens for b in batches),
                        "input_tokens": sum(b.input_tokens for b in batches),
                        "padded_tokens": sum(b.padded_tokens for b in batches),
                        "seconds": time.perf_counter() - step_start})
        if not args.json:
            r = records[-1]
            print(f"step {number}: loss {loss:.6f} grad_norm {norm:.6f} lr {lr:.6g} tokens {r['tokens']} "
                  f"({r['seconds']:.3f} s)", flush=True)
    seconds = time.perf_counter() - start

    if args.save:
        save_folder(args.model, params, args.save)
    input_tokens = sum(r["input_tokens"] for r in records)
    padded_tokens = sum(r["padded_tokens"] for r in records)
    result = {
        "model_type": model.config["model_type"],
        "dtype": args.dtype,
        "threads": args.threads,
        "torch": torch.__version__,
        "steps": records,
        "tokens": sum(r["tokens"] for r in records),
        "input_tokens": input_tokens,
        "padded_tokens": padded_tokens,
        "seconds": seconds,
        "input_tokens_per_s": input_tokens / seconds,
        "padded_tokens_per_s": padded_tokens / seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "load_seconds": load_seconds,
        "warmup": "forward+backward of step 1's first micro-batch, gradients discarded, no optimiser step",
        "saved": args.save,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(records)} steps in {seconds:.3f} s: {result['input_tokens_per_s']:.1f} input tokens/s, "
              f"{result['padded_tokens_per_s']:.1f} padded tokens/s, peak RSS {result['peak_rss_bytes'] / 2**20:.0f} MiB")
    return 0


# ----------------------------------------------------------------------------------------------
# check: golden.json's train block, then padding and accumulation
# ----------------------------------------------------------------------------------------------

def relative(value, expected):
    return abs(value - expected) / max(abs(expected), 1e-30)


def golden_train_errors(folder, golden):
    """Relative errors of one forward+backward and one SGD step against the train block."""
    expected = golden["train"]
    model = load_model(folder, torch.float32)
    params = make_trainable(model)
    ids = golden["sequences"][expected["sequence_index"]]["input_ids"]
    batch = MicroBatch([{"ids": ids, "prompt_tokens": 0}], "right", 0, "all")
    summed = loss_sum(model, batch, autocast=False)
    loss = summed / batch.counted_tokens
    loss.backward()

    # The norms are taken in float64: what is checked is the gradient. A float32 norm over a
    # large vocabulary's head is itself off by up to 1e-4 (neox-tiny: 7e-5 on embed_out, whose
    # 3.2M entries are mostly tiny), and that is how clip_grad_norm_ reports it in training.
    errors = {"loss": relative(float(loss), expected["loss"])}
    errors["grad_norms"] = max(relative(float(params[name].grad.double().norm()), value)
                               for name, value in expected["grad_norms"].items())
    global_norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params.values()))
    errors["grad_global_norm"] = relative(global_norm, expected["grad_global_norm"])
    grad = params[expected["grad_of"]].grad.double()
    wanted = torch.tensor(expected["grad_values"], dtype=torch.float64)
    errors["grad_values"] = float((grad - wanted).abs().max() / wanted.abs().max())  # relative to the largest
    with torch.no_grad():
        for p in params.values():
            p -= expected["sgd_lr"] * p.grad
        after = loss_sum(model, batch, autocast=False) / batch.counted_tokens
    errors["loss_after_sgd_step"] = relative(float(after), expected["loss_after_sgd_step"])
    return errors


def gradients(params):
    return {name: p.grad.detach().clone() for name, p in params.items()}


def accumulation_errors(folder, golden):
    """The three golden sequences (prompt_tokens 2, loss on the response) as one left-padded
    micro-batch, one right-padded one and three of one example: relative differences of the
    loss and of the gradients (largest over tensors of |difference| / |gradient|) from the
    unpadded three, and of that loss from a cross-entropy summed by hand."""
    model = load_model(folder, torch.float32)
    params = make_trainable(model)
    examples = [{"ids": s["input_ids"], "prompt_tokens": 2} for s in golden["sequences"]]
    pad_id = golden["batch"]["pad_id"]

    def run(micro_batches):
        batches = [MicroBatch(m, side, pad_id, "response") for m, side in micro_batches]
        loss = accumulate_gradients(model, batches, autocast=False)
        grads = gradients(params)
        for p in params.values():
            p.grad = None
        return loss, grads

    one_each, grads_one_each = run([([e], "right") for e in examples])
    errors = {}
    for side in ("left", "right"):
        loss, grads = run([(examples, side)])
        errors[f"{side}_padded_loss"] = relative(loss, one_each)
        errors[f"{side}_padded_grads"] = max(float((grads[n] - grads_one_each[n]).norm() / grads_one_each[n].norm())
                                             for n in grads if grads_one_each[n].norm() > 0)

    # By hand: -log softmax of the next token at every response position, unbatched, float64.
    total, count = 0.0, 0
    with torch.no_grad():
        for e in examples:
            ids = torch.tensor([e["ids"]])
            mask = torch.ones_like(ids)
            logits = model.forward(ids, position_ids_from_mask(mask), mask, all_logits=True).logits[0].double()
            log_probs = torch.log_softmax(logits, dim=-1)
            for t in range(max(e["prompt_tokens"], 1), len(e["ids"])):
                total -= float(log_probs[t - 1, e["ids"][t]])
                count += 1
    errors["loss_by_hand"] = relative(one_each, total / count)
    return errors


# transformers' factors for 10 steps with 2 of warmup, written out by hand from its formulas.
SCHEDULE_TABLE = {"constant": [0.0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1],
                  "linear": [0.0, 0.5, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8],
                  "cosine": [0.0, 0.5] + [0.5 * (1 + math.cos(math.pi * k / 8)) for k in range(8)]}


def schedule_errors():
    return max(abs(schedule_factor(kind, s, 2, 10) - factor)
               for kind, factors in SCHEDULE_TABLE.items() for s, factor in enumerate(factors))


def adamw_errors(folder, golden):
    """Three optimiser steps (linear schedule with one warm-up step, clipping that bites, weight
    decay) through train_step, each against the same step written out in float64 from the same
    weights and gradients: clipping by min(1, max_norm / (norm + 1e-6)), then AdamW as torch 1.13
    defines it (decoupled decay p *= 1 - lr*wd on dim >= 2 tensors only, bias-corrected
    moments). Returns the largest weight difference relative to the largest change in a step.
    (Each step starts the hand computation from train_step's weights: from its own float64
    weights, Adam would amplify the rounding of gradients near zero into the comparison.)"""
    plan = {"lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-6, "weight_decay": 0.1, "schedule": "linear",
            "warmup_steps": 1, "max_grad_norm": 1.0, "steps": [[]] * 3}
    factors = [0.0, 1.0, 0.5]   # linear over 3 steps, 1 of warm-up
    examples = [{"ids": s["input_ids"], "prompt_tokens": 2} for s in golden["sequences"]]
    pad_id = golden["batch"]["pad_id"]
    batches = [MicroBatch(examples[:2], "left", pad_id, "response"), MicroBatch(examples[2:], "left", pad_id, "response")]
    model = load_model(folder, torch.float32)
    params = make_trainable(model)
    optimizer, scheduler = make_optimizer(params, plan)
    b1, b2 = plan["betas"]
    m = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in params.items()}
    v = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in params.items()}
    worst = 0.0
    for t, factor in enumerate(factors, 1):
        before = {n: p.detach().double().clone() for n, p in params.items()}
        accumulate_gradients(model, batches, autocast=False)
        grads = {n: p.grad.double() for n, p in params.items()}
        optimizer.zero_grad(set_to_none=True)
        train_step(model, params, optimizer, scheduler, batches, plan["max_grad_norm"], autocast=False)

        norm = math.sqrt(sum(float(g.pow(2).sum()) for g in grads.values()))
        clip = min(1.0, plan["max_grad_norm"] / (norm + 1e-6))
        lr = plan["lr"] * factor
        change, difference = 0.0, 0.0
        for n, g in grads.items():
            g = g * clip
            expected = before[n] * (1 - lr * plan["weight_decay"]) if g.dim() >= 2 else before[n].clone()
            m[n] = b1 * m[n] + (1 - b1) * g
            v[n] = b2 * v[n] + (1 - b2) * g * g
            denom = (v[n].sqrt() / math.sqrt(1 - b2 ** t)) + plan["eps"]
            expected -= lr / (1 - b1 ** t) * m[n] / denom
            after = params[n].detach().double()
            change = max(change, float((after - before[n]).abs().max()))
            difference = max(difference, float((after - expected).abs().max()))
        worst = max(worst, difference / change if change > 0 else difference)
    return {"adamw_three_steps": worst}


def check(args):
    folders = args.golden or sorted(glob.glob(os.path.join(GOLDEN_MODELS, "*", "")))
    report, worst = {}, {"golden": 0.0, "padding_accumulation": 0.0, "optimizer": 0.0}
    for folder in folders:
        with open(os.path.join(folder, "golden.json")) as f:
            golden = json.load(f)
        errors = {"golden": golden_train_errors(folder, golden),
                  "padding_accumulation": accumulation_errors(folder, golden),
                  "optimizer": adamw_errors(folder, golden)}
        report[golden["model"]] = {f"{kind}_relative_errors": e for kind, e in errors.items()}
        for kind, e in errors.items():
            worst[kind] = max(worst[kind], *e.values())
    report["schedule_max_abs_error"] = schedule_errors()
    for kind, value in worst.items():
        report[f"worst_{kind}_relative_error"] = value
    report["ok"] = (worst["golden"] <= args.tolerance and worst["padding_accumulation"] <= args.batch_tolerance
                    and worst["optimizer"] <= args.optimizer_tolerance and report["schedule_max_abs_error"] <= 1e-12)
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="run the plan's training steps and time them")
    p.add_argument("--model", required=True, help="a Hugging Face model folder")
    p.add_argument("--examples", required=True, help="JSONL of {ids, prompt_tokens}")
    p.add_argument("--plan", required=True, help="JSON plan: padding, optimiser, schedule, steps")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--dtype", choices=("fp32", "bf16-autocast"), default="fp32",
                   help="float32 master weights either way; bf16-autocast: the forward under CPU autocast")
    p.add_argument("--save", help="write the trained weights and the folder's config here")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p = sub.add_parser("check", help="golden training values, padding and accumulation")
    p.add_argument("--golden", action="append", help="a folder of ../shared/golden/models (repeatable)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="relative, against golden.json")
    p.add_argument("--batch-tolerance", type=float, default=1e-5,
                   help="relative, padded and accumulated against unpadded")
    p.add_argument("--optimizer-tolerance", type=float, default=1e-4,
                   help="weights after a step against float64 AdamW, relative to the step's largest change "
                        "(float32 storage alone rounds a weight of 2 by 2.4e-7, 2.4e-5 of a 0.01 change)")
    args = parser.parse_args()
    sys.exit({"train": train, "check": check}[args.command](args))


if __name__ == "__main__":
    main()
