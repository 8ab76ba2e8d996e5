"""Validates YAML files against a JSON Schema with the `jsonschema` package (an independent
validator: the schema must work for editors, not only for sheetsync).

usage: check_schema.py SCHEMA.json FILE.yml...
Prints one line per file: "ok FILE" or "invalid FILE: MESSAGE" (the first error); exits 0.
"""
import json
import re
import sys

import jsonschema
import yaml



class YAML12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where `on:` (a push job's key) is the boolean true; editors'
    YAML language server and sheetsync read YAML 1.2, where only true/false are booleans."""


YAML12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for first in "tTfF":
    YAML12Loader.yaml_implicit_resolvers.setdefault(first, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))

schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
for path in sys.argv[2:]:
    document = yaml.load(open(path), Loader=YAML12Loader)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path)
        print(f"invalid {path}: {where}: {errors[0].message}")
    else:
        print(f"ok {path}")
