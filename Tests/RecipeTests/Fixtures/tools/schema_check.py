"""Validates recipe files against recipes/schema.json with the jsonschema package.
Prints one JSON object: {path: [error messages]} (an empty list when the file is valid)."""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
results = {}
for path in sys.argv[2:]:
    with open(path) as f:
        document = yaml.safe_load(f)
    results[path] = [e.message for e in validator.iter_errors(document)]
print(json.dumps(results))
