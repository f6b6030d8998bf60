"""Transaction screening: typologies as rules over per-account windows, a planted-truth generator, AMLSim.

Plain Python over DataFrames (no Django): scenarios are data (`scenarios.scenario_from_dict`), the input
is one transactions table (`transactions.transactions_validate`), and `typologies.screen_transactions`
returns alerts that name the rule, the window and the transactions that triggered them.
"""
