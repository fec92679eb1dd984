"""The needle engine: hits, tissue path, breaches, contacts."""
