"""The accounts API: one module per capability, one view per operation."""
