"""Converts a SeqRec benchmark dataset (Tiny-Snow/SeqRecBenchmark-Datasets, data/<name>/proc.zip
unpacked) into the two CSV files `curio import interactions` reads.

    .tools/mlflow-venv/bin/python scripts/datasets/seqrec_to_csv.py IN_DIR OUT_DIR

IN_DIR holds user2item.pkl (a pandas DataFrame: UserID, ItemID = list of item ids, Timestamp = list
of unix seconds, one list entry per interaction) and item2title.pkl (ItemID, Title). OUT_DIR gets
events.csv (user_id,item_id,timestamp) and items.csv (item_id,title). Titles are written as they
are: `curio import` decodes their HTML character references, so there is one decoder, not two.

The pickles need pandas, which the MLflow virtual environment has. Never write OUT_DIR inside the
repository: the datasets' licences do not allow committing them.
"""

import os
import sys

import pandas as pd


def fail(message: str) -> None:
    print(f"seqrec_to_csv: {message}", file=sys.stderr)
    sys.exit(1)


def read_frame(path: str, columns: list[str]) -> pd.DataFrame:
    if not os.path.isfile(path):
        fail(f"{path} does not exist (unpack the dataset's proc.zip into the input folder)")
    frame = pd.read_pickle(path)
    if not isinstance(frame, pd.DataFrame):
        fail(f"{path} holds a {type(frame).__name__}, expected a pandas DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        fail(f"{path} lacks column(s) {', '.join(missing)} (it has: {', '.join(map(str, frame.columns))})")
    return frame


def convert(in_dir: str, out_dir: str) -> None:
    users = read_frame(os.path.join(in_dir, "user2item.pkl"), ["UserID", "ItemID", "Timestamp"])
    titles = read_frame(os.path.join(in_dir, "item2title.pkl"), ["ItemID", "Title"])

    lengths_differ = users["ItemID"].map(len) != users["Timestamp"].map(len)
    if lengths_differ.any():
        user = users.loc[lengths_differ, "UserID"].iloc[0]
        fail(f"user {user} has different numbers of items and timestamps in user2item.pkl")

    # One row per interaction, in each user's own order.
    events = users.explode(["ItemID", "Timestamp"], ignore_index=True)
    events = pd.DataFrame(
        {
            "user_id": events["UserID"],
            "item_id": events["ItemID"].astype("int64"),
            "timestamp": events["Timestamp"].astype("int64"),
        }
    )
    items = pd.DataFrame({"item_id": titles["ItemID"].astype("int64"), "title": titles["Title"]})

    os.makedirs(out_dir, exist_ok=True)
    # Written under temporary names and renamed, so an interrupted run leaves no half file.
    for name, frame in (("events.csv", events), ("items.csv", items)):
        path = os.path.join(out_dir, name)
        frame.to_csv(f"{path}.tmp", index=False, lineterminator="\n")
        os.replace(f"{path}.tmp", path)
    print(
        f"wrote {out_dir}: {len(events)} interactions of {events['user_id'].nunique()} users, "
        f"{len(items)} items ({events['item_id'].nunique()} with interactions)"
    )


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help") else 2)
    convert(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
