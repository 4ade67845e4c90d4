"""Evidence readers, one per kind: each turns what it reads into verdicts for its rules."""
