"""Operator commands for checkpoints: ``python -m functions.train.cli {list,rollback}``.

``rollback`` points ``latest`` at any earlier version (a forced conditional write); Label Studio sees
it at its next /setup.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from functions.common.adapters.s3_store import S3ObjectStore
from functions.common.aws import Clients
from functions.common.errors import BackendError
from functions.common.ls_models import LatestPointer
from functions.common.settings import get_settings
from functions.common.storage import CheckpointStore
from functions.predict.service import trained_version

log = logging.getLogger("functions.train.cli")


def rollback(store: CheckpointStore, project: str, control: str, version: int) -> LatestPointer:
    meta = store.meta(project, control, version)  # NotFoundError names the missing version
    pointer = LatestPointer(
        version=version, heldout_f1=meta.metrics.get("heldout_f1"), labels=meta.labels, lineage=meta.lineage
    )
    store.move_latest(project, control, pointer, force=True)
    return pointer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.train.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "rollback"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--project", required=True)
        cmd.add_argument("--control", required=True)
        if name == "rollback":
            cmd.add_argument("--version", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = CheckpointStore(S3ObjectStore(Clients().s3, get_settings().bucket_name))
    try:
        if args.command == "rollback":
            pointer = rollback(store, args.project, args.control, args.version)
            log.info("latest -> %s", trained_version(args.control, pointer))
        else:
            latest = store.latest(args.project, args.control)
            for meta in store.versions(args.project, args.control):
                row = {
                    "version": meta.version,
                    "latest": latest is not None and latest.version == meta.version,
                    "promoted": meta.promoted,
                    "heldout_f1": meta.metrics.get("heldout_f1"),
                    "train_f1": meta.metrics.get("train_f1"),
                    "tasks": len(meta.trained_on),
                    "lineage": meta.lineage,
                    "note": meta.not_promoted_reason,
                }
                sys.stdout.write(json.dumps(row) + "\n")
    except BackendError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
