#!/usr/bin/env python3
"""client/scenarios/scenario.schema.json against the catalog, with a real validator.

Every catalog scenario (client/scenarios/*.yaml, *.json) must validate against the schema that
documents the format, so the schema cannot fall behind the loader (a new strategy, fault site or
violation id used in the catalog but missing from the schema fails here). The validator is
python3-jsonschema (Draft 2020-12, the schema's $schema); the malformed scenarios of
tests/unit/chaos/testdata/ whose fault is one the schema can express must be rejected, which
shows the validator is not vacuous. What only the loader can check (op lines, $references,
ranges that depend on the lab) is scenario_loader_test's business.

Usage: scenario_schema_test.py SOURCE_DIR
"""
import json
import pathlib
import sys

import jsonschema
import yaml

# Malformed scenarios whose fault the schema itself rules out.
SCHEMA_REJECTS = [
    "bad-as-name.yaml", "bad-chaos-weight.yaml", "bad-default-strategy.yaml",
    "bad-duration-negative.yaml", "bad-duration.yaml", "bad-expect-key.yaml", "bad-iommu.yaml",
    "bad-ram.yaml", "bad-repeat-zero.yaml", "bad-repeat.yaml", "bad-strategy.yaml",
    "bad-type-name.yaml", "bad-type-seed.yaml", "bad-violation-id-none.yaml",
    "bad-violation-id.yaml", "empty.yaml", "missing-name.yaml", "steps-not-a-list.yaml",
    "unknown-top-key.yaml",
]


def load(path):
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def main():
    src = pathlib.Path(sys.argv[1])
    scenarios = src / "client" / "scenarios"
    schema = json.loads((scenarios / "scenario.schema.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    failures = []

    catalog = sorted(p for p in scenarios.iterdir()
                     if p.suffix in (".yaml", ".json") and p.name != "scenario.schema.json")
    for path in catalog:
        for e in validator.iter_errors(load(path)):
            where = "/".join(str(x) for x in e.absolute_path) or "(top)"
            failures.append(f"{path.name}: {where}: {e.message}")
    if len(catalog) < 40:
        failures.append(f"only {len(catalog)} catalog scenarios found in {scenarios}")

    testdata = src / "tests" / "unit" / "chaos" / "testdata"
    for name in SCHEMA_REJECTS:
        if validator.is_valid(load(testdata / name)):
            failures.append(f"testdata/{name}: malformed, but the schema accepts it")

    for f in failures:
        print(f"FAIL {f}")
    print(f"scenario_schema: {len(catalog)} catalog scenarios valid against "
          f"{validator_class.__name__}, {len(SCHEMA_REJECTS)} malformed ones rejected"
          if not failures else f"scenario_schema: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
