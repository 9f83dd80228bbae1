"""The HAN side of the Communications Hub: the sans-IO network, the hub around it, captures."""
