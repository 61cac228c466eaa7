"""Pure core: no Flask, no database, no network; ``now`` is always a parameter."""
