"""Routers of the public REST API v1 (mounted by config/api.py), named after the
reference's Flow Service: connectionSpecs, connections, dataflows (+ runs), segments."""
