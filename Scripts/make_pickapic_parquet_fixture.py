#!/usr/bin/env python3
"""Writes small Parquet shards with the real Pick-a-Pic schema for the Swift Parquet reader's tests.

Run with the bench venv (needs pyarrow and Pillow):
    /root/bench-venv/bin/python Scripts/make_pickapic_parquet_fixture.py

Outputs, in Tests/DatasetsTests/Fixtures/:
  pickapic_snappy_dict.parquet   SNAPPY, dictionary encoding, data pages v2, several row groups and pages,
                                 jpg_0/jpg_1 as binary columns (as yuvalkirstain/pickapic_v1/v2), created_at
                                 timestamp[us, UTC]
  pickapic_plain.parquet         UNCOMPRESSED, PLAIN encoding, data pages v1, jpg_0/jpg_1 as HF Image structs
                                 {bytes, path}, created_at as a string, caption_0/caption_1 columns
  pickapic_gzip.parquet          GZIP, dictionary, data pages v1, created_at timestamp[ns] (pyarrow's default for
                                 pandas timestamps), labels as float32 and ranking_id as int32
  pickapic_bad_rows.parquet      4 rows: a good one, an undecodable jpg_0, label_0 = 0.7, a null caption
  pickapic_zstd.parquet          1 row compressed with ZSTD (a codec the reader does not implement)
  pickapic_no_user_id.parquet    1 row without the user_id column
  pickapic_expected.json         every column of every row as the Swift importer must read it, plus the RGB
                                 pixels PIL decodes from each JPEG (the Swift side decodes with libjpeg; ±2)

The columns follow the real shards: are_different, best_image_uid, caption, created_at, has_label,
image_0_uid, image_0_url, image_1_uid, image_1_url, jpg_0, jpg_1, label_0, label_1, model_0, model_1,
ranking_id, user_id, num_example_per_prompt, __index_level_0__ (extra columns the importer ignores).
"""
import datetime as dt
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DatasetsTests", "Fixtures")


def make_jpeg(seed):
    """A 12x8 gradient (not square, so resize + centre crop is exercised), JPEG quality 92."""
    w, h = 12, 8
    img = Image.new("RGB", (w, h))
    for y in range(h):
        for x in range(w):
            img.putpixel((x, y), ((seed * 37 + x * 19) % 256, (seed * 91 + y * 29) % 256, (seed * 53 + (x + y) * 7) % 256))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92, optimize=True)
    data = buf.getvalue()
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    return data, list(decoded.tobytes())


# Rows: a normal win for image 0, a win for image 1, a tie, an unjudged row, an identical pair, and a
# second user with a non-ASCII caption. Labels of the unjudged row are 0/0 as in the real shards.
ROWS = [
    dict(caption="a red circle on a blue background", label_0=1.0, label_1=0.0, user_id=7, ranking_id=101,
         model_0="render-good", model_1="render-sloppy", has_label=True, are_different=True,
         num_example_per_prompt=2, caption_0="a red circle", caption_1="a red square"),
    dict(caption="a red circle on a blue background", label_0=0.0, label_1=1.0, user_id=7, ranking_id=102,
         model_0="render-sloppy", model_1="render-good", has_label=True, are_different=True,
         num_example_per_prompt=2, caption_0=None, caption_1="a large red circle"),
    dict(caption="two green triangles", label_0=0.5, label_1=0.5, user_id=12, ranking_id=103,
         model_0="render-good", model_1="render-good", has_label=True, are_different=True,
         num_example_per_prompt=None, caption_0="two green triangles", caption_1="three green triangles"),
    dict(caption="a yellow star", label_0=0.0, label_1=0.0, user_id=12, ranking_id=104,
         model_0="render-sloppy", model_1="render-good", has_label=False, are_different=True,
         num_example_per_prompt=1, caption_0="a yellow star", caption_1="an orange star"),
    dict(caption="a purple square, small", label_0=1.0, label_1=0.0, user_id=7, ranking_id=105,
         model_0="render-good", model_1="render-good", has_label=True, are_different=False,
         num_example_per_prompt=1, caption_0="a purple square", caption_1="a purple square"),
    dict(caption="café ☕ with \"quotes\"", label_0=0.0, label_1=1.0, user_id=3_000_000_000, ranking_id=106,
         model_0="render-sloppy", model_1="render-good", has_label=True, are_different=True,
         num_example_per_prompt=1, caption_0="a cup", caption_1="a mug"),
]

BASE_TIME = dt.datetime(2023, 4, 26, 13, 45, 12, 123456)


def build():
    images = {}
    rows = []
    for i, r in enumerate(ROWS):
        row = dict(r)
        for k in (0, 1):
            uid = f"img-{i:02d}-{k}"
            data, pixels = make_jpeg(i * 2 + k + 1)
            images[uid] = (data, pixels)
            row[f"image_{k}_uid"] = uid
            row[f"image_{k}_url"] = f"https://example.invalid/{uid}.jpg"
            row[f"jpg_{k}"] = data
        if row["label_0"] == row["label_1"]:
            row["best_image_uid"] = ""
        else:
            row["best_image_uid"] = row["image_0_uid"] if row["label_0"] == 1.0 else row["image_1_uid"]
        # Whole seconds for one row, so the "no fraction" formatting is tested too.
        row["created_at"] = BASE_TIME + dt.timedelta(days=i * 40, seconds=i * 3671) if i != 4 else dt.datetime(1969, 12, 31, 23, 59, 59)
        row["__index_level_0__"] = 1000 + i
        rows.append(row)
    return rows, images


def iso(t, digits, utc):
    """The created_at text the importer produces for a timestamp column of the given unit."""
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    frac = t.microsecond * 10 ** (digits - 6) if digits >= 6 else t.microsecond // 10 ** (6 - digits)
    if frac:
        s += "." + str(frac).rjust(digits, "0")
    return s + ("Z" if utc else "")


def column(rows, name):
    return [r[name] for r in rows]


def table(rows, jpg_as_struct, created_at_type, dual_captions, narrow=False):
    """`narrow` stores labels as float32 and ranking_id as int32 (as some conversions do), so the reader's
    FLOAT and INT32 paths are exercised too."""
    fields = [
        ("are_different", pa.bool_()), ("best_image_uid", pa.string()), ("caption", pa.string()),
        ("created_at", created_at_type), ("has_label", pa.bool_()),
        ("image_0_uid", pa.string()), ("image_0_url", pa.string()),
        ("image_1_uid", pa.string()), ("image_1_url", pa.string()),
    ]
    arrays = {}
    for name, typ in fields:
        values = column(rows, name)
        if name == "created_at" and typ == pa.string():
            values = [t.isoformat(sep=" ") for t in values]
        arrays[name] = pa.array(values, type=typ)
    for k in (0, 1):
        data = column(rows, f"jpg_{k}")
        if jpg_as_struct:
            arrays[f"jpg_{k}"] = pa.StructArray.from_arrays(
                [pa.array(data, type=pa.binary()), pa.array([None] * len(data), type=pa.string())],
                names=["bytes", "path"])
        else:
            arrays[f"jpg_{k}"] = pa.array(data, type=pa.binary())
    label_type, ranking_type = (pa.float32(), pa.int32()) if narrow else (pa.float64(), pa.int64())
    for name, typ in [("label_0", label_type), ("label_1", label_type), ("model_0", pa.string()),
                      ("model_1", pa.string()), ("ranking_id", ranking_type), ("user_id", pa.int64()),
                      ("num_example_per_prompt", pa.int64()), ("__index_level_0__", pa.int64())]:
        arrays[name] = pa.array(column(rows, name), type=typ)
    if dual_captions:
        arrays["caption_0"] = pa.array(column(rows, "caption_0"), type=pa.string())
        arrays["caption_1"] = pa.array(column(rows, "caption_1"), type=pa.string())
    return pa.table(arrays)


def expected_rows(rows, created_at, dual_captions):
    out = []
    for r in rows:
        e = {k: r[k] for k in ("caption", "label_0", "label_1", "user_id", "ranking_id", "image_0_uid", "image_1_uid",
                               "best_image_uid", "model_0", "model_1", "has_label", "are_different",
                               "num_example_per_prompt")}
        e["created_at"] = created_at(r["created_at"])
        e["caption_0"] = r["caption_0"] if dual_captions else None
        e["caption_1"] = r["caption_1"] if dual_captions else None
        out.append(e)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rows, images = build()
    variants = {
        "pickapic_snappy_dict.parquet": dict(
            table=table(rows, False, pa.timestamp("us", tz="UTC"), False),
            # Tiny page and dictionary limits: several data pages per chunk, and the image columns fall back
            # from dictionary to PLAIN pages mid-chunk (as pyarrow does for large values).
            write=dict(compression="snappy", use_dictionary=True, data_page_version="2.0", row_group_size=4,
                       data_page_size=64, write_batch_size=1, dictionary_pagesize_limit=2048),
            created_at=lambda t: iso(t, 6, True), dual=False),
        "pickapic_plain.parquet": dict(
            table=table(rows, True, pa.string(), True),
            write=dict(compression="none", use_dictionary=False, data_page_version="1.0", row_group_size=6),
            created_at=lambda t: t.isoformat(sep=" "), dual=True),
        "pickapic_gzip.parquet": dict(
            table=table(rows, False, pa.timestamp("ns"), False, narrow=True),
            write=dict(compression="gzip", use_dictionary=True, data_page_version="1.0", row_group_size=3),
            created_at=lambda t: iso(t, 9, False), dual=False),
    }
    expected = {"files": {}, "images": {uid: pixels for uid, (_, pixels) in images.items()},
                "image_width": 12, "image_height": 8}
    for name, v in variants.items():
        path = os.path.join(OUT, name)
        pq.write_table(v["table"], path, **v["write"])
        expected["files"][name] = expected_rows(rows, v["created_at"], v["dual"])
        meta = pq.ParquetFile(path).metadata
        print(f"{name}: {os.path.getsize(path)} bytes, {meta.num_row_groups} row groups, created by {meta.created_by}")
    write_bad_fixtures(rows)
    with open(os.path.join(OUT, "pickapic_expected.json"), "w") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"))
    print("expected values:", os.path.getsize(os.path.join(OUT, "pickapic_expected.json")), "bytes")


# The error-path shards skip the Arrow schema copy and statistics in the footer to stay small.
LEAN = dict(store_schema=False, write_statistics=False)


def write_bad_fixtures(rows):
    """Small shards for the error paths (2x2 images keep them tiny)."""
    tiny = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(tiny, format="JPEG", optimize=True)
    small = []
    for r in rows[:4]:
        r = dict(r)
        r["jpg_0"] = r["jpg_1"] = tiny.getvalue()
        small.append(r)
    bad = [dict(r) for r in small]
    bad[1]["jpg_0"] = b"not a jpeg at all"
    bad[2]["label_0"], bad[2]["label_1"], bad[2]["best_image_uid"] = 0.7, 0.3, ""
    bad[3]["caption"] = None
    bad[3]["has_label"] = True
    t = table(bad, False, pa.timestamp("us", tz="UTC"), False)
    pq.write_table(t, os.path.join(OUT, "pickapic_bad_rows.parquet"), compression="none", use_dictionary=False, **LEAN)
    t = table(small[:1], False, pa.timestamp("us", tz="UTC"), False)
    pq.write_table(t, os.path.join(OUT, "pickapic_zstd.parquet"), compression="zstd", **LEAN)
    t = table(small[:1], False, pa.timestamp("us", tz="UTC"), False).drop_columns(["user_id"])
    pq.write_table(t, os.path.join(OUT, "pickapic_no_user_id.parquet"), compression="snappy", **LEAN)
    for name in ("pickapic_bad_rows.parquet", "pickapic_zstd.parquet", "pickapic_no_user_id.parquet"):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
