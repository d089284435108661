"""Real-name binding: identity documents, verification adapters, levels of assurance."""
