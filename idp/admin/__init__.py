"""Administration: staff roles, the admin console and its API."""
