"""One file per revision, each written to be read (drafts from autogenerate are edited before committing)."""
