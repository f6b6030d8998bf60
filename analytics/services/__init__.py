"""Analytics use cases, one module per area: snapshots, training, registry."""
