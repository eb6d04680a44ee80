"""The HTTP edge: blueprints, marshmallow schemas, problem+json, token checks."""
