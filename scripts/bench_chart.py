#!/usr/bin/env python3
"""Turn criterion's results for ssekit's benches into Markdown tables and SVG charts.

Reads <target>/criterion/**/new/{benchmark.json,estimates.json} (and the
ssekit-notes.json files the benches write next to them), computes MB/s
(10^6 bytes per second) from each benchmark's Throughput::Bytes and its mean
time per iteration, prints one Markdown table per group and writes:

  docs/bench.svg           decode: throughput by decoder, per workload x delivery
  docs/bench_scaling.svg   scaling: one event of 1/8/64 MiB in 64-byte chunks
  docs/bench_encode.svg    encode

Python 3 standard library only.

Usage:
  python3 scripts/bench_chart.py [--target-dir DIR] [--docs DIR] [--markdown FILE]

--target-dir defaults to $CARGO_TARGET_DIR, else ./target.
"""

import argparse
import json
import math
import os
import sys
from html import escape

MISPARSE = "_MISPARSE"
BASELINES = ("memchr_count", "memcpy")

# Row order in tables and bar order in charts; unknown names go last.
ORDER = [
    "ssekit_borrowed", "ssekit_owned", "ssekit_bytes", "ssekit_stream", "ssekit_fields",
    "ssekit_event", "ssekit_prebuilt", "ssekit_event_ref",
    "sse_core", "sse_stream", "sseer", "eventsource_stream", "sse_codec",
    "async_sse", "axum", "memchr_count", "memcpy",
]
COLUMN_ORDER = ["whole", "mtu", "tiny", "1MiB", "8MiB", "64MiB", "encode"]

COLORS = {
    # ssekit in warm colours, peers in cool ones, baselines in light grey.
    "ssekit_borrowed": "#922b21", "ssekit_owned": "#c0392b", "ssekit_bytes": "#e67e22", "ssekit_stream": "#f4d03f",
    "ssekit_fields": "#8e44ad", "ssekit_event": "#c0392b", "ssekit_prebuilt": "#e67e22",
    "ssekit_event_ref": "#8e44ad", "sse_core": "#1f618d", "sse_stream": "#48c9b0",
    "sseer": "#1e8449", "eventsource_stream": "#7f8c8d", "sse_codec": "#17202a",
    "async_sse": "#85c1e9", "axum": "#1f618d", "memchr_count": "#bdc3c7", "memcpy": "#e5e8e8",
}

# (numerator, denominator) rows under each table; "peer" is the fastest
# correctly-parsing peer in that column.
RATIOS = {
    "decode": [("ssekit_borrowed", "peer"), ("ssekit_owned", "peer"), ("ssekit_bytes", "peer"),
               ("ssekit_stream", "peer"), ("ssekit_fields", "peer"), ("ssekit_borrowed", "memchr_count"),
               ("ssekit_fields", "ssekit_owned"),
               ("ssekit_fields", "ssekit_bytes"), ("ssekit_owned", "memchr_count"),
               ("ssekit_bytes", "memchr_count")],
    "scaling": [("ssekit_owned", "peer"), ("ssekit_bytes", "peer"), ("ssekit_fields", "ssekit_owned")],
    "encode": [("ssekit_event", "peer"), ("ssekit_event", "axum"), ("ssekit_event_ref", "axum"),
               ("ssekit_prebuilt", "axum"), ("ssekit_event", "memcpy"), ("ssekit_prebuilt", "memcpy"),
               ("ssekit_event_ref", "memcpy")],
}


def family(group):
    return group.split("_", 1)[0]


def kind(name):
    if name.startswith("ssekit"):
        return "ssekit"
    if name in BASELINES:
        return "baseline"
    return "peer"


def load(criterion_dir):
    """{group: {"cells": {(name, column): (mbps, wrong)}, "notes": {...}}}"""
    groups = {}
    for root, dirs, files in os.walk(criterion_dir):
        if os.path.basename(root) != "new" or "benchmark.json" not in files:
            continue
        try:
            with open(os.path.join(root, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(root, "estimates.json")) as f:
                est = json.load(f)
        except (OSError, ValueError) as e:
            print(f"warning: skipping {root}: {e}", file=sys.stderr)
            continue
        thr = bench.get("throughput") or {}
        nbytes = thr.get("Bytes") or thr.get("BytesDecimal")
        if not nbytes:
            continue
        ns = est["mean"]["point_estimate"]
        group = bench["group_id"]
        name = bench.get("function_id") or ""
        column = bench.get("value_str") or ""
        wrong = name.endswith(MISPARSE)
        if wrong:
            name = name[: -len(MISPARSE)]
        g = groups.setdefault(group, {"raw": {}, "cells": {}, "notes": {}})
        g["raw"][(name, column, wrong)] = nbytes * 1e3 / ns
    for group, g in groups.items():
        path = os.path.join(criterion_dir, bench_dir(group), "ssekit-notes.json")
        try:
            with open(path) as f:
                g["notes"] = json.load(f)
        except (OSError, ValueError):
            pass
        # The notes tell the latest status of each benchmark; criterion's
        # directory may still hold results from earlier runs under the
        # other name, or from before a contender started being skipped.
        for name, column in {(n, c) for n, c, _ in g["raw"]}:
            status = g["notes"].get(f"{name}/{column}", {}).get("status")
            if status == "skipped":
                continue
            for wrong in ((True,) if status == "misparse" else (False,) if status == "ok" else (False, True)):
                if (name, column, wrong) in g["raw"]:
                    g["cells"][(name, column)] = (g["raw"][(name, column, wrong)], wrong)
                    break
    return groups


def short(group):
    """A group name without its family prefix: `encode_llm_tokens` -> `llm_tokens`."""
    return group.split("_", 1)[1] if "_" in group else group


def bench_dir(group):
    return "".join("_" if c in '?"/\\*<>:|^' else c for c in group)


def sort_key(order):
    def key(x):
        return (order.index(x) if x in order else len(order), x)
    return key


def layout(g):
    names = sorted({n for n, _ in g["cells"]} | {k.split("/")[0] for k in g["notes"]}, key=sort_key(ORDER))
    cols = sorted({c for _, c in g["cells"]} | {k.split("/", 1)[1] for k in g["notes"] if "/" in k},
                  key=sort_key(COLUMN_ORDER))
    return names, cols


def fastest_peer(g, col):
    best = None
    for (name, c), (mbps, wrong) in g["cells"].items():
        if c == col and kind(name) == "peer" and not wrong and (best is None or mbps > best[1]):
            best = (name, mbps)
    return best


def fmt(mbps):
    return f"{mbps:,.0f}" if mbps >= 100 else f"{mbps:,.1f}"


def table(group, g):
    names, cols = layout(g)
    out = [f"#### `{group}` (MB/s)", "", "| decoder | " + " | ".join(cols) + " |",
           "|---|" + "---:|" * len(cols)]
    flagged = []
    for name in names:
        row = []
        for col in cols:
            cell = g["cells"].get((name, col))
            note = g["notes"].get(f"{name}/{col}", {})
            if note.get("status") == "skipped" and cell is None:
                row.append("skipped¹")
                flagged.append((name, col, "skipped", note.get("detail", "")))
            elif cell is None:
                row.append("–")
            elif cell[1]:
                row.append(f"~~{fmt(cell[0])}~~ ✗²")
                flagged.append((name, col, "wrong", note.get("detail", "")))
            else:
                row.append(fmt(cell[0]))
        label = f"**{name}**" if kind(name) == "ssekit" else (f"*{name}*" if kind(name) == "baseline" else name)
        out.append(f"| {label} | " + " | ".join(row) + " |")
    peers = [fastest_peer(g, c) for c in cols]
    out.append("| fastest correct peer | " + " | ".join(f"{p[0]} ({fmt(p[1])})" if p else "–" for p in peers) + " |")
    for num, den in RATIOS.get(family(group), []):
        cells = []
        for col, peer in zip(cols, peers):
            a = g["cells"].get((num, col))
            if den == "peer":
                b = (peer[1], False) if peer else None
            else:
                b = g["cells"].get((den, col))
            if a and b and not a[1] and not b[1]:
                cells.append(f"{a[0] / b[0]:.2f}×")
            else:
                cells.append("–")
        if any(c != "–" for c in cells):
            den_label = "fastest peer" if den == "peer" else den
            out.append(f"| {num} ÷ {den_label} | " + " | ".join(cells) + " |")
    if family(group) == "scaling" and len(cols) > 1:
        # A linear decoder keeps its bytes/s as the event grows, up to memory
        # effects (an event larger than the cache) that a plain copy of the
        # same bytes (the memcpy row) shows too. A quadratic one falls by
        # about the size ratio, or is skipped by the time guard.
        first = cols[0]
        out.append("")
        out.append(f"Throughput relative to {first} (1.00 = linear; compare with memcpy for cache effects):")
        out.append("")
        out.append("| decoder | " + " | ".join(f"{c} ÷ {first}" for c in cols[1:]) + " |")
        out.append("|---|" + "---:|" * (len(cols) - 1))
        for name in names:
            a = g["cells"].get((name, first))
            cells = []
            for col in cols[1:]:
                b = g["cells"].get((name, col))
                cells.append(f"{b[0] / a[0]:.2f}" if a and b else "–")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    if flagged:
        out.append("")
        for name, col, what, detail in flagged:
            mark = "¹" if what == "skipped" else "²"
            out.append(f"{mark} {name}/{col}: {detail or what}")
    out.append("")
    return "\n".join(out)


def svg_chart(title, groups, path):
    """Grouped bars on a log scale: one panel per group, one cluster per column."""
    panels = []
    for group in sorted(groups, key=group_order):
        g = groups[group]
        names, cols = layout(g)
        names = [n for n in names if any((n, c) in g["cells"] or f"{n}/{c}" in g["notes"] for c in cols)]
        if names and cols:
            panels.append((group, g, names, cols))
    if not panels:
        return False
    if len(panels) > 1 and all(len(cols) == 1 for _, _, _, cols in panels):
        # One column per group (encode): one panel, a cluster per group.
        merged = {"cells": {}, "notes": {}}
        names = []
        for group, g, gnames, (col,) in panels:
            for (n, c), v in g["cells"].items():
                merged["cells"][(n, short(group))] = v
            for key, note in g["notes"].items():
                merged["notes"][f"{key.split('/')[0]}/{short(group)}"] = note
            names += [n for n in gnames if n not in names]
        panels = [("by input", merged, sorted(names, key=sort_key(ORDER)), [short(p[0]) for p in panels])]
    bar, gap = 9, 1
    cluster_gap = 22 if max(len(cols) for *_, cols in panels) > 1 or len(panels) > 1 else 60
    plot_h, top, left, panel_gap = 180, 34, 56, 40
    widths = [len(cols) * (len(names) * (bar + gap) + cluster_gap) for _, _, names, cols in panels]
    per_row = 2 if max(widths) < 560 and len(panels) > 1 else 1
    panel_w = max(max(widths) + left + 10, 380)
    rows = math.ceil(len(panels) / per_row)
    all_names = []
    for _, _, names, _ in panels:
        all_names += [n for n in names if n not in all_names]
    legend_rows = math.ceil(len(all_names) / 5)
    legend_h = 18 * legend_rows + 10
    panel_h = plot_h + top + 40
    width = max(per_row * panel_w + 20, 780)
    height = 40 + legend_h + rows * (panel_h + panel_gap)
    values = [v for _, g, _, _ in panels for v, _ in g["cells"].values() if v > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))

    def y_of(v):
        return plot_h * (1 - (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, name in enumerate(all_names):
        x = 10 + (i % 5) * 150
        y = 36 + (i // 5) * 18
        s.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLORS.get(name, "#555")}"/>')
        s.append(f'<text x="{x + 16}" y="{y + 10}">{escape(name)}</text>')
    for idx, (group, g, names, cols) in enumerate(panels):
        ox = 10 + (idx % per_row) * panel_w
        oy = 40 + legend_h + (idx // per_row) * (panel_h + panel_gap)
        s.append(f'<text x="{ox}" y="{oy + 14}" font-size="13" font-weight="bold">{escape(group)}</text>')
        py = oy + top
        k = lo
        while k <= hi:
            y = py + y_of(k)
            s.append(f'<line x1="{ox + left}" y1="{y:.1f}" x2="{ox + panel_w - 10}" y2="{y:.1f}" stroke="#ddd"/>')
            s.append(f'<text x="{ox + left - 4}" y="{y + 4:.1f}" text-anchor="end">{k:g}</text>')
            k *= 10
        s.append(f'<text x="{ox + 10}" y="{py + plot_h / 2}" transform="rotate(-90 {ox + 10} {py + plot_h / 2})" '
                 f'text-anchor="middle">MB/s (log)</text>')
        x = ox + left + cluster_gap / 2
        for col in cols:
            cx0 = x
            for name in names:
                cell = g["cells"].get((name, col))
                note = g["notes"].get(f"{name}/{col}", {})
                if cell:
                    v, wrong = cell
                    y = py + y_of(v)
                    tip = f"{name}/{col}: {fmt(v)} MB/s" + (" (WRONG OUTPUT, excluded)" if wrong else "")
                    style = ' fill-opacity="0.35" stroke="#c00" stroke-dasharray="2,1"' if wrong else ""
                    s.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar}" height="{py + plot_h - y:.1f}" '
                             f'fill="{COLORS.get(name, "#555")}"{style}><title>{escape(tip)}</title></rect>')
                elif note.get("status") == "skipped":
                    s.append(f'<text x="{x + bar / 2:.1f}" y="{py + plot_h - 3}" text-anchor="middle" fill="#c00">'
                             f'×<title>{escape(name + "/" + col + " skipped: " + note.get("detail", ""))}</title></text>')
                x += bar + gap
            s.append(f'<text x="{(cx0 + x) / 2:.1f}" y="{py + plot_h + 16}" text-anchor="middle">{escape(col)}</text>')
            x += cluster_gap
        s.append(f'<line x1="{ox + left}" y1="{py + plot_h}" x2="{ox + panel_w - 10}" y2="{py + plot_h}" stroke="#333"/>')
    s.append(f'<text x="10" y="{height - 8}" fill="#666">× = skipped by the time guard; faded dashed bar = '
             f'wrong output (measured, left out of ratios). Hover a bar for its value.</text>')
    s.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")
    return True


GROUP_ORDER = ["llm_tokens", "anthropic_named", "multiline_large", "crlf_mixed", "heartbeat_heavy", "huge_events"]


def group_order(group):
    fam_rank = ["decode", "scaling", "encode"]
    fam = family(group)
    rest = group.split("_", 1)[1] if "_" in group else group
    return (fam_rank.index(fam) if fam in fam_rank else 9,
            GROUP_ORDER.index(rest) if rest in GROUP_ORDER else 99, group)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    ap.add_argument("--docs", default="docs", help="where to write the SVG files")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    criterion_dir = os.path.join(args.target_dir, "criterion")
    if not os.path.isdir(criterion_dir):
        sys.exit(f"no criterion results in {criterion_dir}; run cargo bench first")
    groups = load(criterion_dir)
    groups = {k: v for k, v in groups.items() if family(k) in RATIOS}
    if not groups:
        sys.exit(f"no ssekit benchmark groups in {criterion_dir}")
    md = []
    for group in sorted(groups, key=group_order):
        md.append(table(group, groups[group]))
    text = "\n".join(md)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    titles = {"decode": ("Decode throughput by workload and delivery", "bench.svg"),
              "scaling": ("One large event in 64-byte chunks", "bench_scaling.svg"),
              "encode": ("Encode throughput", "bench_encode.svg")}
    for fam, (title, name) in titles.items():
        sub = {k: v for k, v in groups.items() if family(k) == fam}
        if sub and svg_chart(title, sub, os.path.join(args.docs, name)):
            print(f"wrote {os.path.join(args.docs, name)}", file=sys.stderr)


if __name__ == "__main__":
    main()
