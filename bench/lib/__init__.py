"""What the parts share: machine facts and worker processes (common), the systems under test
(systems, standin, meter, schedule), the 1 kHz probe (tone), the callers process (calls) and
the report that turns bench/out/*.json into docs/performance.md."""
