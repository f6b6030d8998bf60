"""Lending use cases, one module per area; import the functions from their modules."""
