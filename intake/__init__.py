"""Intake: bytes as Azure delivers them to `Signal`s or a rejection that names what is wrong and
where. Both Event Grid schemas (Event Grid and CloudEvents) and both alert schemas (the common
alert schema and the legacy Activity Log one) are read here; the trigger adapters in handlers/,
the command line's replay, the demo and the benchmarks all parse through this one room.

Imports only rules (for `Signal`) and the standard library: no SDK, nothing of the pipeline."""
