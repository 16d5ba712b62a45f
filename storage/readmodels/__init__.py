"""Read models: the figures several readers need, one query (or a fixed few) per figure.

The evening digest, the chat commands, the ledger export and the coming web console all show
the same numbers (coverage, the county day, dead letters, ledger rows). Each figure is computed
here once, so a rule such as "a household met its monthly quota" has one definition, in SQL.
Like the rest of storage, these never commit and return frozen DTOs.
"""
