"""The use-case library: how each GBCS use case is built and its response checked."""
