"""The routing engine: pure functions over a compiled table (no I/O, no clock, no global RNG).

Entry points: ``table.compile_table``, ``engine.route``, ``failover.next_step``, ``directives.parse``,
``tokens.estimate_input``, ``health.on_*`` and ``thompson.observe/merge``; import the modules, not names.
"""
