#!/usr/bin/env python3
"""A copy of a Pick-a-Pic-format dataset whose training pairs of one user keep only those won by a given generator.

usage (from the repository root): python3 Scripts/filter_winner_model.py SRC DST [MODEL] [USER]
  SRC    a dataset folder (e.g. cache/shapes); DST a new folder (images and other splits are symlinked, not copied)
  MODEL  the generator whose images must be the preferred one (default render-good); USER (default 0)

Used by docs/ALIGNMENT.md ("MaPO: why it does not beat the base") to test how much MaPO (and SFT) are hurt by
sloppy winners: only train.jsonl changes; ties and other users' pairs are kept as they are.
"""
import json
import os
import sys


def main(src, dst, model="render-good", user="0"):
    for needed in ("train.jsonl", "dataset.json"):
        if not os.path.isfile(os.path.join(src, needed)):
            sys.exit(f"error: {src} has no {needed}; SRC must be a dataset folder (e.g. cache/shapes, made by `t2ialign data synth`)")
    if os.path.exists(dst):
        sys.exit(f"error: {dst} already exists; choose a new folder for DST (or remove it first)")
    os.makedirs(dst)
    for name in os.listdir(src):
        if name not in ("train.jsonl", "dataset.json"):
            os.symlink(os.path.relpath(os.path.join(src, name), dst), os.path.join(dst, name))
    kept = dropped = 0
    with open(os.path.join(dst, "train.jsonl"), "w") as out:
        for line in open(os.path.join(src, "train.jsonl")):
            r = json.loads(line)
            if r["user_id"] == int(user) and r["label_0"] != 0.5:
                if (r["model_0"] if r["label_0"] == 1 else r["model_1"]) != model:
                    dropped += 1
                    continue
            out.write(line)
            kept += 1
    meta = json.load(open(os.path.join(src, "dataset.json")))
    meta["splits"]["train"] = kept
    meta["source"] += f"; train: user {user}'s non-tie pairs only where {model} made the preferred image"
    json.dump(meta, open(os.path.join(dst, "dataset.json"), "w"), indent=2)
    print(f"{dst}: {kept} training rows kept, {dropped} dropped (user {user}, winner not {model})")


if __name__ == "__main__":
    if not 3 <= len(sys.argv) <= 5 or sys.argv[1] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
