"""The routing engine: pure functions over a compiled table (no I/O, no clock, no global RNG).

Entry points: ``table.compile_table``, ``engine.route``, ``failover.next_step``, ``directives.parse``,
``health.on_*`` and ``thompson.observe/merge``; import the modules, not names. Requests arrive with their input
already counted by ``gateway.tokens``, the count billing and reservations share.
"""
