"""Production: the defaults as they are; every secret must come from the environment."""
