"""People who use the web app: accounts with roles, API tokens, server-side sessions."""
