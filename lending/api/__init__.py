"""The partner REST API: /api/v1/ (DRF), its OpenAPI schema and documentation."""
