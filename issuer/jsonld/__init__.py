"""JSON-LD: bundled contexts, offline loader, strict expansion, RDFC-1.0 canonicalization."""
