"""The model-endpoint record: its stored shape, its owner in KV, and registration."""
