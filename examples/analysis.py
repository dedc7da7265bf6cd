#!/usr/bin/env python3
"""An analyst's first look at a task: the top values in a daemon's store with 95% error bars,
printed and drawn with matplotlib. Needs `import residue` (scripts/setup; docs/python.md).

    examples/analysis.py --data /var/lib/residue --task words --dictionary words.txt --out top.png
    examples/analysis.py --data postgres:host=db1 dbname=residue --task words
"""
import argparse

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

import residue  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True,
                        help="the daemon's data directory, postgres:CONNINFO or a tally file")
    parser.add_argument("--task", required=True)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dictionary", help="the task's dictionary file, to name values")
    parser.add_argument("--out", default="top.png", help="the chart (PNG, SVG or PDF)")
    args = parser.parse_args()

    e = residue.read_store(args.data, args.task, top=args.top, dictionary=args.dictionary)
    print(f"task {e['task']} ({e['protocol']}, k={e['k']}): {e['reports']} reports "
          f"in {e['batches']} batches")
    labels, counts, errors = [], [], []
    for rank, row in enumerate(e["top"], 1):
        labels.append(row.get("value", str(row["index"])))
        counts.append(row["count"])
        errors.append(1.96 * row["stderr"] * e["reports"])  # stderr is of the frequency
        print(f"{rank:4}  {labels[-1]:>20}  {counts[-1]:12.1f} +- {errors[-1]:.1f}")

    fig, ax = plt.subplots(figsize=(8, 0.3 * len(labels) + 1.5))
    ax.barh(range(len(labels)), counts, xerr=errors, color="#4c72b0", ecolor="black", capsize=3)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()  # the largest on top
    ax.set_xlabel("estimated count (95% error bars)")
    ax.set_title(f"{e['task']}: top {len(labels)} of {e['reports']} reports ({e['protocol']})")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
