"""Production monitoring's use cases, one module a concept: fairness of live decisions, drift windows, alerts."""
