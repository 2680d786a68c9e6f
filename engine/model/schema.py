"""The published JSON schema of the canonical model (engine/model/schema/*.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.model.documents import Acknowledgement, OrderChange, ShipNotice
from engine.model.order import Order

SCHEMA_DIR = Path(__file__).parent / "schema"
DOCUMENTS: dict[str, Any] = {
    "order": Order,
    "order-change": OrderChange,
    "acknowledgement": Acknowledgement,
    "ship-notice": ShipNotice,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Each canonical document's JSON schema, as serialised (computed fields included)."""
    return {name: model.model_json_schema(mode="serialization") for name, model in DOCUMENTS.items()}


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(path)
